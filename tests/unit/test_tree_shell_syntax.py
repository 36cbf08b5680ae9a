"""tree.has_shell_syntax (plain string tests, no regex compiled at init) against the regex it replaced."""

from __future__ import annotations

import itertools
import random
import re

from reweb.tree import command_argv, has_shell_syntax

REFERENCE = re.compile(r"[;&|()<>`$\n*?\[]|(?:^|\s)[~#]")
ALPHABET = ["a", "/", " ", "\t", "\u00a0", "\u2003", "\x1c", "~", "#", ";", "&", "|", "(", ")", "<", ">", "`", "$",
            "\n", "*", "?", "[", "]", "'", '"', "\\", "=", "-", "é", "{", "!"]


def test_every_short_string_agrees_with_the_regex() -> None:
    for length in range(4):
        for chars in itertools.product(ALPHABET, repeat=length):
            command = "".join(chars)
            assert has_shell_syntax(command) == bool(REFERENCE.search(command)), repr(command)


def test_random_longer_strings_agree_with_the_regex() -> None:
    rng = random.Random(21)
    for _ in range(20000):
        command = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(4, 24)))
        assert has_shell_syntax(command) == bool(REFERENCE.search(command)), repr(command)


def test_command_lines() -> None:
    assert command_argv("busybox httpd -f -p 8080") == ["busybox", "httpd", "-f", "-p", "8080"]
    assert command_argv("node a#b.js x~") == ["node", "a#b.js", "x~"]
    assert command_argv("exec busybox httpd")[:2] == ["/bin/sh", "-c"]
    assert command_argv("node app.js #comment")[:2] == ["/bin/sh", "-c"]
    assert command_argv("node ~/app.js")[:2] == ["/bin/sh", "-c"]
    assert command_argv("node app.js > log")[:2] == ["/bin/sh", "-c"]
