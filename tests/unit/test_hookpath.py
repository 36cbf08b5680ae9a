"""reweb.hookpath: which request paths some server could read as a SnapStart hook's path (refused with 403),
and that ordinary pages are never among them. The real servers' readings are checked end to end in
tests/integration/test_hook_guard.py (nginx and Tomcat behind reweb under the RIE)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reweb.hookpath import RULES, HookPaths, _as_bytes, _decodings, canonical, in_doubt, readings

HOOKS = HookPaths(["/snapstart/before", "/snapstart/after"])

REFUSED = [
    # the plain paths, and what the old guard already caught
    "/snapstart/before", "/snapstart/after", "/snapstart/before/", "//snapstart//before", "/SNAPSTART/Before",
    "/snapstart%2Fbefore", "/snapstart/befor%65",
    # dot segments (nginx, Tomcat: RFC 3986 after decoding), encoded or not, above the root
    "/x/../snapstart/before", "/snapstart/./before", "/x/%2e%2e/snapstart/before", "/snapstart/.%2E/snapstart/after",
    "/../snapstart/before", "/snapstart/after/.", "/snapstart/x%2F..%2Fbefore", "/%2e/snapstart/before",
    # ;parameters (Tomcat drops them from every segment, before decoding and dot segments)
    "/snapstart/before;x=1", "/snapstart;a=b/before", "/snapstart/before;jsessionid=0A1B", "/x/..;/snapstart/before",
    "/snapstart/x/..;/before", "/x;y/../snapstart/before", "/snapstart/before%3Bx",
    # backslashes (IIS, Tomcat's ALLOW_BACKSLASH), raw or encoded
    "/snapstart\\before", "/snapstart%5Cbefore", "/x/..%5Csnapstart/before", "\\snapstart\\before",
    # double and deeper encoding (a framework that decodes again)
    "/snapstart/%252e/before", "/x/%252e%252e/snapstart/before", "/snapstart%252Fbefore", "/snapstart/%25252e/before",
    # NUL (C servers stop there), a decoded ? or # (a server that re-parses), tab and newlines (WHATWG drops them)
    "/snapstart/before%00.jpg", "/snapstart/before%2500", "/snapstart/before%3Fx=1", "/snapstart/before%23top",
    "/snapstart/be%09fore", "/snap%0Astart/before",
    # overlong UTF-8, IIS %u, look-alike separators
    "/snapstart/%c0%ae/before", "/x/%c0%ae%c0%ae/snapstart/before", "/snapstart%c0%afbefore",
    "/snapstart%e0%80%afbefore", "/snapstart/%u0062efore", "/snapstart%u002fbefore", "/snapstart%ef%bc%8fbefore",
    "/x/%ef%bc%8e%ef%bc%8e/snapstart/before",
    # trailing dots and spaces (Windows), Unicode case
    "/snapstart/before.", "/snapstart/before%20", "/snapstart/before.%20.", "/snap%C5%BFtart/before",
    # below the hook or with an extension (prefix mounts, servlet /hook/*, Spring's suffix match)
    "/snapstart/before/x", "/snapstart/before.json", "/snapstart/after/%2e%2e/after",
    # a leading //authority (a parser that reads a network-path reference)
    "//evil.example/snapstart/before", "/\\evil/snapstart/after",
    # a segment that reduces to nothing for one reading but that a server keeps, so that `..` removes it and not
    # the segment before it (issue 18 point 1: each of these reached a hook through real nginx, Tomcat or WHATWG)
    "/snapstart/.../../before", "/snapstart/%3B/%2e%2e/before", "/snapstart/%2e%2e%2e/%2e%2e/before",
    "/snapstart/%3Bx/%2e%2e/after", "/snapstart/;/../before", "/snapstart/./%2e;%3f/after",
    "/%2F/snapstart/..%3B/%2e%2e/before", "/snapstart//../before", "/snapstart/%20/../before",
    "/snapstart/x;/../before", "/snapstart/%3F/../before", "/snapstart/%23/../after", "/snapstart/.%20/../before",
    "/snapstart/before/;/..", "/snapstart/.%2e./..;/before", "/snapstart/%EF%BD%82efore",
    # below the hook for a router that matches a prefix on the raw path, without removing dot segments
    "/snapstart/before/../../page",
    # a backslash or an overlong form nginx keeps as a character of a segment, that `..` removes (differential fuzz)
    "/after%5csnapstart/.%2e/snapstart/after", "/snapstart/%2f%5c%5c/.%2e/before", "/snapstart//%5c/%2e%2e/before",
    "/snapstart/%09\\/%2E./after", "/snapstart/@beforeB/before/../%c0%ae%2F.%2e/../after",
    "/snapstart/%c0%ae/%2e%2e/Bsnapstart/%2e/../before", "/snapstart/%ef%bc%8f/../before",
    # a tab Tomcat keeps as a character of a segment, that `..` removes (differential fuzz)
    "/snapstart/;%20/.%2e%09/%2e%2e/before", "/snapstart/.%09/..;/%ef%bc%8f/%2e%2e;/%3b/%2e%2e/after",
    # Tomcat: `...` kept and removed by `..`, then `;%23` dropped to an empty segment, merged
    "/snapstart/.../../;%23/after",
    # a combining mark that NFKC composes with the hook's last letter, that a framework stripping accents drops
    "/snapstart/before%CC%81", "/snapstart/after%CC%A7",
]

READ_BY_THE_NET_ONLY = {"/snapstart/before%CC%81", "/snapstart/after%CC%A7"}  # no modelled reading drops the mark

# Refused by the safety net although nginx and Tomcat serve them as ordinary pages: they name a hook's last segment
# and hold something servers read differently (a `;`, `//`, a dot segment, a decoded ? or #, a backslash).
IN_DOUBT = [
    "/blog/before-and-after.html;jsessionid=0A1B", "/before;jsessionid=1", "/posts//before", "/a/./before",
    "/x/../after", "/docs/after%3Fx", "/docs/before%23x", "/files\\before.txt",
]

ALLOWED = [
    "/", "/page", "/snapstart", "/snapstart/", "/snapstart/beforehand", "/snapstart/befor", "/snapstart/after-all",
    "/before", "/snapstart-before", "/after/snapstart/before-x", "/blog/before-and-after.html", "/static/app.js",
    "/a/./b/../c", "/capture/space%20value", "/x%2Fy", "/files;v=2/list", "/%E2%9C%93", "/snapstart/x/before",
    "/snapstart%2Fbeforehand", "/%", "/%zz/before", "/x/%c0", "/snapstart/before-x",
]


@pytest.mark.parametrize("path", REFUSED)
def test_spellings_of_a_hook_are_refused(path: str) -> None:
    assert HOOKS.refuses(path), readings(path)


@pytest.mark.parametrize("path", ALLOWED)
def test_ordinary_paths_are_not(path: str) -> None:
    assert not HOOKS.refuses(path), readings(path)


@pytest.mark.parametrize("path", [path for path in REFUSED if path not in READ_BY_THE_NET_ONLY])
def test_the_readings_alone_refuse_every_spelling(path: str) -> None:
    """The first layer without the safety net: some reading of each spelling is a hook's path or below it."""
    assert HOOKS.reads_as_hook(path), readings(path)


# The spellings of REFUSED that no decoding puts in doubt: only the readings refuse them.
CLEAN_SPELLINGS = {
    "/snapstart/before", "/snapstart/after", "/snapstart/before/", "/SNAPSTART/Before", "/snapstart%2Fbefore",
    "/snapstart/befor%65", "/snapstart%252Fbefore", "/snapstart/%u0062efore", "/snapstart%u002fbefore",
    "/snapstart/before.", "/snapstart/before%20", "/snapstart/before.%20.", "/snap%C5%BFtart/before",
    "/snapstart/before/x", "/snapstart/before.json", "/snapstart/%EF%BD%82efore",
}


@pytest.mark.parametrize("path", REFUSED)
def test_the_safety_net_alone_refuses_every_odd_spelling(path: str) -> None:
    """The second layer without the readings: every spelling but the clean ones (letters, percent-encoded or
    not, slashes, trailing dots, a look-alike letter, below the hook) is in doubt, so refused as it names
    `before` or `after`."""
    texts = _decodings(_as_bytes(path))
    clean = not any(in_doubt(text) for text in texts)
    assert clean == (path in CLEAN_SPELLINGS), (path, texts)


@pytest.mark.parametrize("path", IN_DOUBT)
def test_the_safety_net_refuses_ordinary_pages_that_are_in_doubt(path: str) -> None:
    assert HOOKS.refuses(path) and not HOOKS.reads_as_hook(path), readings(path)


@pytest.mark.parametrize(("text", "expected"), [
    ("/", ""), ("", ""), ("/A//B/", "/a/b"), ("/a/./b/../c", "/a/c"), ("/../../a", "/a"), ("/a;x/b;y=1", "/a/b"),
    ("/a/..;/b", "/b"), ("/a\\b", "/a/b"), ("/a. /b..", "/a/b"), ("/a/.../b", "/a/b"), ("/a\x00/b", "/a"),
    ("/a?b/c", "/a"), ("/\xc0\xae\xc0\xae/a", "/a"), ("/caf\xc3\xa9", "/café"), ("/Stra\xc3\x9fe", "/strasse"),
])
def test_canonical(text: str, expected: str) -> None:
    assert canonical(text) == expected


def test_every_decoding_depth_is_read() -> None:
    # the last one: dot segments kept (a router matching a prefix on the raw path)
    assert readings("/a/%252e%252e/b") == ["/a/%252e%252e/b", "/a/%2e%2e/b", "/b", "/a/../b"]
    # a segment removed by ".." at one depth is split by "%2F" at the next: both readings count
    assert readings("/a%2Fb/../hook") == ["/hook", "/a%2fb/../hook", "/a/hook", "/a/b/../hook"]
    assert len(_decodings("/x%" + "25" * 40 + "41")) == 8  # bounded however deep the nesting
    # Tomcat drops ;parameters before it decodes: `%2e;%3f` is `.` there, `.;?` once decoded
    assert _decodings("/a/%2e;%3f/b") == ["/a/%2e;%3f/b", "/a/.;?/b", "/a/./b"]
    assert len(_decodings("/a" + "/;%25" * 12 + "2e")) <= 32  # bounded however many branches


def test_configured_paths_are_normalised_the_same_way() -> None:
    hooks = HookPaths(["/Hooks/Before/", "/hooks%2Fafter", "/café/ß"])
    assert hooks.refuses("/hooks/before") and hooks.refuses("/HOOKS/after;x") and hooks.refuses("/hooks%2fafter")
    assert hooks.refuses("/caf%C3%A9/%C3%9F") and hooks.refuses("/café/ß") and hooks.refuses("/CAFÉ/SS")
    assert not hooks.refuses("/hooks") and not hooks.refuses("/hooks/other") and not hooks.refuses("/cafe/ss")


def test_no_hooks_refuse_nothing_and_are_falsy() -> None:
    hooks = HookPaths([])
    assert not hooks and not hooks.refuses("/snapstart/before")
    assert HookPaths(["/h"])


def test_a_hook_at_the_root_refuses_only_the_root() -> None:
    hooks = HookPaths(["/"])
    assert hooks.refuses("/") and hooks.refuses("//") and hooks.refuses("/x/..") and hooks.refuses("/%2e")
    assert not hooks.refuses("/page") and not hooks.refuses("/x.json")


_PIECES = [*"/.;%\\ aAbBeEfForRsStTnNpP2c5-0x?#\t", "%2e", "%2f", "%25", "before", "snapstart", "after", "é",
           "/../", "/%2e%2e/", "/;x/", "/.../", "//", "/ /", "/%3B/", "/%3F/", "%3b", "%3f", "%00", "%ef%bd%82"]
_PATHS = st.lists(st.sampled_from(_PIECES), max_size=30).map(lambda pieces: "/" + "".join(pieces))


@settings(max_examples=500, deadline=None)
@given(path=_PATHS)
def test_the_fast_path_never_changes_the_answer(path: str) -> None:
    """The cheap test (no `%` and no hook's last segment in the path) rules out only what the full reading would;
    the safety net only adds refusals."""
    if HOOKS.reads_as_hook(path):
        assert HOOKS.refuses(path)
    if "%" not in path and path.isascii() and path.isprintable() and not any(
            tail in path.lower() for tail in ("before", "after")):
        assert not HOOKS.reads_as_hook(path)


@settings(max_examples=1000, deadline=None)
@given(path=_PATHS)
def test_a_path_not_in_doubt_reads_the_same_under_every_rule(path: str) -> None:
    """What lets a clean path cost one canonical form: with nothing in doubt, every rule agrees."""
    for text in _decodings(path):
        if not in_doubt(text):
            # (rule[6], fold, False keeps non-ASCII bytes as they are: another reading, of segments no ASCII hook has)
            assert {canonical(text, *rule) for rule in RULES if rule[6]} == {canonical(text)}, text


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True), min_size=1, max_size=5),
       suffix=st.sampled_from(["", "/", ".html", ".min.js"]))
def test_ordinary_pages_are_never_refused(words: list[str], suffix: str) -> None:
    path = "/" + "/".join(words) + suffix
    hook = path.lower().startswith(("/snapstart/before", "/snapstart/after"))
    assert HOOKS.refuses(path) == hook
