"""Helpers shared by the source modules: header maps in and out, the kind descriptor."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..http import Headers, HttpRequest, HttpResponse

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any

    Event = dict[str, Any]
else:
    Event = dict


# Request headers the adapter itself decides: the body is complete, so framing comes from us.
_REQUEST_DROP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "expect",
                           "upgrade", "te", "proxy-connection"})
# Response headers that describe the app's connection, not the response.
RESPONSE_DROP = frozenset({"transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade",
                           "trailer"})


class EventError(ValueError):
    """The event has an HTTP shape but cannot be turned into a request."""


class Kind:
    """One event source: how to read its requests and write its responses."""

    __slots__ = ("decode", "encode", "http", "name", "prelude", "response_limit")

    def __init__(self, name: str, decode: Callable[[Event], HttpRequest],
                 encode: Callable[[HttpResponse], dict[str, Any]],
                 prelude: Callable[[HttpResponse], dict[str, Any]] | None, response_limit: int,
                 http: bool = True) -> None:
        self.name = name
        self.decode = decode
        self.encode = encode  # buffered result (body already complete)
        self.prelude = prelude  # streaming prelude, None if the source does not stream
        self.response_limit = response_limit  # bytes of the buffered JSON result this source accepts
        self.http = http

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"


def want_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"{what} must be a string, got {type(value).__name__}")
    return value


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def want_method(value: object, what: str) -> str:
    """An HTTP method: a non-empty token (RFC 9110), upper-cased."""
    method = want_str(value, what).upper()
    if not method or not _TOKEN.issuperset(method):
        raise EventError(f"{what} is not an HTTP method: {method[:20]!r}")
    return method


def opt_map(event: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = event.get(key)
    if value.__class__ is dict:  # always, for JSON: skips the slow ABC isinstance below
        return value
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventError(f"{key} must be an object, got {type(value).__name__}")
    return value


def headers_from_single(mapping: Mapping[str, Any]) -> Headers:
    out: Headers = []
    for name, value in mapping.items():
        if name.lower() in _REQUEST_DROP:
            continue
        if value.__class__ is str:  # the common case first
            out.append((name, value))
        elif value is None:
            continue
        elif isinstance(value, list):  # Lattice v2 may send lists
            out.extend((name, str(v)) for v in value if v is not None)
        else:
            out.append((name, str(value)))
    return out


def headers_from_multi(mapping: Mapping[str, Any]) -> Headers:
    out: Headers = []
    for name, values in mapping.items():
        if name.lower() in _REQUEST_DROP or values is None:
            continue
        if isinstance(values, list):
            out.extend((name, str(v)) for v in values if v is not None)
        else:
            out.append((name, str(values)))
    return out


def pairs_from_multi(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, values in mapping.items():
        if values is None:
            continue
        if isinstance(values, list):
            pairs.extend((key, "" if v is None else str(v)) for v in values)
        else:
            pairs.append((key, str(values)))
    return pairs


def response_headers(response: HttpResponse) -> Headers:
    return [(n, v) for n, v in response.headers if n.lower() not in RESPONSE_DROP]


def multi_value_headers(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def single_value_headers(headers: Headers, cookies_in_case_variants: bool) -> dict[str, str]:
    """Repeats comma-joined (RFC 9110 allows it for all but Set-Cookie).

    Set-Cookie cannot be joined; in a single-value map the only way to carry several is the case-variant
    trick (Set-Cookie, set-cookie, SET-COOKIE...), which the proxies forward as separate headers.
    """
    out: dict[str, str] = {}
    lower_seen: dict[str, str] = {}
    cookie_count = 0
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie" and cookies_in_case_variants:
            out[_case_variant(cookie_count)] = value
            cookie_count += 1
            continue
        if lower in lower_seen:
            key = lower_seen[lower]
            out[key] = out[key] + ", " + value
        else:
            lower_seen[lower] = name
            out[name] = value
    return out


def _casing(bits: int) -> str:
    chars = list("set-cookie")
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    for pos in letters:
        if bits & 1:
            chars[pos] = chars[pos].upper()
        bits >>= 1
    return "".join(chars)


# "Set-Cookie" first, then every other casing of the name: 512 distinct header names in all.
_COOKIE_NAMES: list[str] = []  # built on first use: only single-value sources with several cookies need it


def _case_variant(index: int) -> str:
    if index == 0:
        return "Set-Cookie"
    if not _COOKIE_NAMES:
        _COOKIE_NAMES.extend(["Set-Cookie", *(name for name in map(_casing, range(512)) if name != "Set-Cookie")])
    if index >= len(_COOKIE_NAMES):
        raise EventError("more than 512 Set-Cookie headers cannot be carried in a single-value map")
    return _COOKIE_NAMES[index]


def status_description(status: int, reason: str) -> str:
    from http import HTTPStatus  # only ALB and Lattice need it

    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"{status} {reason}".rstrip()


def host_or(headers: Headers, fallback: str) -> Headers:
    """Every request needs a Host; console tests and health checks come without one."""
    for name, _ in headers:
        if len(name) == 4 and name.lower() == "host":
            return headers
    return [*headers, ("Host", fallback or "localhost")]
