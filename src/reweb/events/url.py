"""Raw paths and queries: keep what the client sent, re-encode only what a source decoded.

A path from a source that hands it over decoded (HTTP API) and one that keeps it encoded (REST, Function URL,
ALB) go through the same function: characters that cannot appear in a request target are percent-encoded,
and a `%` that already starts an escape is left alone, so nothing is ever double-encoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

# RFC 3986 pchar plus "/": unreserved, sub-delims, ":" and "@". "%" is handled separately.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# In a query a raw "+" must stay "+" (it may mean space) and "?" and "/" are allowed.
_QUERY_SAFE = _PATH_SAFE + "?"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NEEDS_WORK = re.compile(r"[^A-Za-z0-9/:@!$&'()*+,;=\-._~%]")
_NEEDS_WORK_QUERY = re.compile(r"[^A-Za-z0-9/?:@!$&'()*+,;=\-._~%]")


def _escape_keeping_escapes(text: str, safe: str, needs_work: re.Pattern[str]) -> str:
    if not needs_work.search(text) and "%" not in text:
        return text  # the common case: already a clean target
    text = _LONE_PERCENT.sub("%25", text)
    return quote(text, safe=safe + "%", encoding="utf-8", errors="surrogateescape")


def encode_path(path: str) -> str:
    """A path as the source gave it -> a valid raw request path (starts with "/")."""
    if not path:
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    return _escape_keeping_escapes(path, _PATH_SAFE, _NEEDS_WORK)


def encode_raw_query(query: str) -> str:
    """A query the source passed undecoded (HTTP API rawQueryString, ALB) -> valid on the wire as is."""
    return _escape_keeping_escapes(query, _QUERY_SAFE, _NEEDS_WORK_QUERY)


def _component(text: str) -> str:
    # Decoded key or value -> encoded; "+" must become %2B since apps read "+" as space.
    return quote(text, safe="-._~!$'()*,;:@/?", encoding="utf-8", errors="surrogateescape")


def encode_query_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded (key, value) pairs (REST, Lattice) -> a raw query string."""
    return "&".join(f"{_component(k)}={_component(v)}" for k, v in pairs)


def join_raw_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """Undecoded (key, value) pairs (ALB) -> the raw query string they came from."""
    return encode_raw_query("&".join(f"{k}={v}" for k, v in pairs))
