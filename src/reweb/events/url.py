"""Raw paths and queries: keep what the client sent, re-encode only what a source decoded.

A path from a source that hands it over decoded (HTTP API) and one that keeps it encoded (REST, Function URL,
ALB) go through the same function: characters that cannot appear in a request target are percent-encoded,
and a `%` that already starts an escape is left alone, so nothing is ever double-encoded.

"Cannot appear" follows the WHATWG URL standard's percent-encode sets, i.e. what a browser itself escapes:
controls, space, non-ASCII, `"`, `#`, `<`, `>` everywhere, and in a path also `?`, `^`, `` ` ``, `{`, `}`.
Everything else a client may send raw (`[`, `]`, `|`, `'`...) is passed on raw, so an ALB or HTTP API query
such as `foo[]=1` reaches the app byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .common import EventError

_QUERY_ESCAPE = ' "#<>'
_PATH_ESCAPE = _QUERY_ESCAPE + "?^`{}"
# "Anything but the characters a target may hold raw": a negated class of printable ASCII. (The positive
# form, with a range up to U+10FFFF, makes the regex compiler build a full table: 70 ms of every cold start.)
_NEEDS_WORK = re.compile(r"[^!$&-;=@-\]_a-z|~]")
_NEEDS_WORK_QUERY = re.compile(r"[^!$&-;=?-~]")
_HEX = frozenset("0123456789abcdefABCDEF")


def _escape_keeping_escapes(text: str, escape: str, needs_work: re.Pattern[str]) -> str:
    if not needs_work.search(text):
        return text  # the common case: already a clean target
    out: list[str] = []
    for i, char in enumerate(text):
        if char == "%":
            is_escape = len(text) > i + 2 and text[i + 1] in _HEX and text[i + 2] in _HEX
            out.append("%" if is_escape else "%25")
        elif char <= " " or char >= "\x7f" or char in escape:
            try:
                data = char.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: JSON can carry it, no URL can
                raise EventError(f"invalid character {char!r} in the request target") from None
            out.append("".join(f"%{byte:02X}" for byte in data))
        else:
            out.append(char)
    return "".join(out)


def encode_path(path: str) -> str:
    """A path as the source gave it -> a valid raw request path (starts with "/")."""
    if not path:
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    return _escape_keeping_escapes(path, _PATH_ESCAPE, _NEEDS_WORK)


def encode_raw_query(query: str) -> str:
    """A query the source passed undecoded (HTTP API rawQueryString, ALB) -> valid on the wire as is."""
    return _escape_keeping_escapes(query, _QUERY_ESCAPE, _NEEDS_WORK_QUERY)


# urllib.parse.quote(text, safe=_COMPONENT_SAFE), done here: urllib.parse imports ipaddress and more, milliseconds of
# every Init, for this one function. Its always-safe set (letters, digits, "_.-~") plus ours.
_COMPONENT_SAFE = "-._~!$'()*,;:@/?"
_SAFE_BYTES = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~" + _COMPONENT_SAFE).encode("ascii")
_QUOTED = tuple(chr(byte) if byte in _SAFE_BYTES else f"%{byte:02X}" for byte in range(256))


def _component(text: str) -> str:
    # Decoded key or value -> encoded; "+" must become %2B since apps read "+" as space.
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(f"invalid character in query parameter {text[:40]!r}") from None
    if not data.rstrip(_SAFE_BYTES):  # nothing to escape (urllib.parse.quote's own shortcut)
        return text
    quoted = _QUOTED
    return "".join([quoted[byte] for byte in data])


def encode_query_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded (key, value) pairs (REST, Lattice) -> a raw query string."""
    return "&".join(f"{_component(k)}={_component(v)}" for k, v in pairs)


def join_raw_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """Undecoded (key, value) pairs (ALB) -> the raw query string they came from."""
    return encode_raw_query("&".join(f"{k}={v}" for k, v in pairs))
