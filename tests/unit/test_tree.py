"""How the app's command line is started: directly when plain, through /bin/sh only for shell syntax, and a
clear error when that needs a shell the image does not have."""

from __future__ import annotations

import pytest

from reweb import tree


@pytest.mark.parametrize(("line", "argv"), [
    ("node server.js", ["node", "server.js"]),
    ("  gunicorn   -b 127.0.0.1:8080  app:app ", ["gunicorn", "-b", "127.0.0.1:8080", "app:app"]),
    ("""php -d 'memory_limit=1G' "my app.php" a\\ b""", ["php", "-d", "memory_limit=1G", "my app.php", "a b"]),
    ("/app --name=x", ["/app", "--name=x"]),
])
def test_plain_commands_are_split_and_run_directly(line: str, argv: list[str]) -> None:
    assert tree.command_argv(line) == argv


def test_shell_syntax_without_a_shell_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "SHELL", "/nonexistent/sh")
    assert tree.command_argv("node server.js") == ["node", "server.js"]  # no shell needed: fine
    with pytest.raises(tree.CommandError) as error:
        tree.command_argv("cd /srv && node server.js")
    assert "needs a shell" in str(error.value) and "/nonexistent/sh" in str(error.value)


@pytest.mark.parametrize("line", ["", "   ", "node 'unterminated"])
def test_unusable_lines_are_errors(line: str) -> None:
    with pytest.raises(tree.CommandError):
        tree.command_argv(line)


@pytest.mark.parametrize("line", ["exit 7", "cd /srv && python app.py", "PORT=9000 node server.js", "a; b",
                                  "nginx -g 'daemon off;'", "php-fpm & nginx", "exec gunicorn app:app", "node $APP",
                                  "ls *.py", "echo `id`", "a > log", "~/bin/app", "app # comment"])
def test_shell_syntax_goes_through_sh(line: str) -> None:
    assert tree.command_argv(line) == ["/bin/sh", "-c", line]
