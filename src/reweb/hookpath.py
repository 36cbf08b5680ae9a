"""Is a request path one of the SnapStart hooks' paths, however it is spelled? Pure, no I/O.

The app's own server decides what a path means, and servers disagree: nginx decodes %XX (%2F and %2e too),
merges slashes and removes dot segments; Tomcat drops every `;parameter` of a segment (`..;/`, `;jsessionid=`),
decodes, and removes dot segments; IIS and Tomcat's allowBackslash=true read `\\` as `/`; Windows drops trailing dots
and spaces; C servers stop at NUL; some frameworks decode twice, compare without case, match `/hook.json` or
`/hook/anything` to `/hook`. A path is refused (403) when ANY of those readings lands on a hook: RFC 3986's
dot-segment removal after percent-decoding, with `;parameters` dropped, at every decoding depth.

The hot path: printable ASCII whose lower-case form does not contain the last segment of a hook (`before`)
cannot read as a hook by any rule below, so most requests cost one `in` test per hook (and one per decoding
round when they hold a `%`), never a canonical form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_ESCAPE = re.compile(r"%(?:([0-9A-Fa-f]{2})|[uU]([0-9A-Fa-f]{4}))")
# Overlong UTF-8 forms of ASCII (`%c0%ae` is "."), which lenient decoders accept: bytes held as latin-1 chars.
_OVERLONG = re.compile("[\xc0\xc1][\x80-\xbf]|\xe0[\x80-\x9f][\x80-\xbf]|\xf0[\x80-\x8f][\x80-\xbf][\x80-\xbf]")
# Characters some frameworks fold (NFKC, "best fit") onto the separators.
_LOOKALIKES = str.maketrans({"\uff0e": ".", "\u2024": ".", "\ufe52": ".", "\uff0f": "/", "\u2215": "/",
                             "\u2044": "/", "\uff3c": "\\", "\u2216": "\\", "\ufe68": "\\"})
_MAX_DEPTH = 8  # decoding rounds looked at: `%25` nested deeper than this is read by no server


def _unescape(match: re.Match[str]) -> str:
    byte, unit = match.groups()
    if byte is not None:
        return chr(int(byte, 16))
    return chr(int(unit, 16)).encode("utf-8", "surrogatepass").decode("latin-1")  # IIS's %uXXXX


def _ascii_of_overlong(match: re.Match[str]) -> str:
    data = match.group().encode("latin-1")
    lead = {2: 0x1F, 3: 0x0F, 4: 0x07}[len(data)]
    code = data[0] & lead
    for byte in data[1:]:
        code = code << 6 | byte & 0x3F
    return chr(code)


def canonical(text: str) -> str:
    """One decoding of a path (its bytes as latin-1 characters) -> the resource lenient readings agree on:
    lower case, no `;parameters`, no dot segments, no empty segments, no trailing slash ("" for the root)."""
    for stop in "\x00?#":  # NUL truncates in C; a decoded ? or # ends the path for a server that re-parses
        text = text.partition(stop)[0]
    if not text.isascii():
        text = _OVERLONG.sub(_ascii_of_overlong, text)
        text = text.encode("latin-1", "replace").decode("utf-8", "replace")
        text = text.translate(_LOOKALIKES)
    text = text.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "").casefold()
    kept: list[str] = []
    for segment in text.split("/"):
        segment = segment.partition(";")[0].rstrip(" ")
        if segment == "..":
            if kept:
                kept.pop()
        elif segment.rstrip("."):
            kept.append(segment.rstrip(". "))
    return "/" + "/".join(kept) if kept else ""


def _at_depth(text: str) -> list[str]:
    """The canonical forms of one decoding of a path: as it is, and what follows a leading `//authority` (a
    parser that takes `//host/p` for a network-path reference)."""
    found = [canonical(text)]
    slashed = text.replace("\\", "/")
    if slashed.startswith("//"):
        _authority, slash, rest = slashed[2:].partition("/")
        found.append(canonical(slash + rest))
    return found


def _decodings(text: str) -> Iterator[str]:
    """`text` raw, decoded once, twice... while a round changes it, at most _MAX_DEPTH of them."""
    for _ in range(_MAX_DEPTH):
        yield text
        if "%" not in text:
            return
        decoded = _ESCAPE.sub(_unescape, text)
        if decoded == text:
            return
        text = decoded


def readings(path: str) -> list[str]:
    """Every canonical form of `path` (its bytes as latin-1 characters), at every decoding depth."""
    return [reading for text in _decodings(path) for reading in _at_depth(text)]


def _as_bytes(path: str) -> str:
    """A path's characters -> its UTF-8 bytes as latin-1 characters, the form `canonical` reads (a request's
    path is ASCII already: what a target cannot hold raw is percent-encoded by then)."""
    return path if path.isascii() else path.encode("utf-8", "surrogatepass").decode("latin-1")


class HookPaths:
    """The hooks' paths, normalised once at start; `refuses(path)` for every request when any is set."""

    __slots__ = ("keys", "tails")

    def __init__(self, paths: Iterable[str]) -> None:
        self.keys = frozenset(key for path in paths for key in readings(_as_bytes(path)))
        # The last segment of each hook. Every segment of a canonical form is a piece of the text it was read
        # from, lower-cased, unless that text holds a control character (tab and newlines are dropped) or a
        # non-ASCII one (overlong forms, look-alikes, case folding): printable ASCII without a tail in it
        # cannot read as a hook, and needs no canonical form.
        self.tails = tuple({key.rpartition("/")[2] for key in self.keys})

    def __bool__(self) -> bool:
        return bool(self.keys)

    def refuses(self, path: str) -> bool:
        """True when some server could read `path` as a hook's path, or below it (`/hook/x`, `/hook.json`)."""
        if "%" not in path and path.isascii() and path.isprintable():  # most requests end here
            lowered = path.lower()
            for tail in self.tails:
                if tail in lowered:
                    break
            else:
                return False
        for text in _decodings(_as_bytes(path)):
            if text.isascii() and text.isprintable():
                lowered = text.lower()
                for tail in self.tails:
                    if tail in lowered:
                        break
                else:
                    continue  # the common case: nothing here could be a hook
            for reading in _at_depth(text):
                for key in self.keys:
                    if reading == key or (key and reading.startswith(key) and reading[len(key)] in "/."):
                        return True
        return False
