"""What every emulated front door shares: the request it received, the answer it gives, the failures.

Everything here is pure: no sockets, no clock. The server hands in an `Inbound` and a `Context` (ids and
time chosen by the caller), a gateway returns an event dict; the invocation result goes back in as bytes
and comes out as an `Outbound`. That keeps every gateway rule testable with plain values.
"""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, unquote_plus

Headers = list[tuple[str, str]]
JsonDict = dict[str, Any]

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Inbound:
    """One HTTP request as the gateway received it from the client."""

    method: str
    raw_path: str  # exactly as on the wire, percent-encoding kept
    raw_query: str = ""  # without "?", exactly as on the wire
    headers: Headers = field(default_factory=list)  # client's casing, order and repeats
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        name = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found


@dataclass(frozen=True, slots=True)
class Context:
    """The per-request values a real gateway invents (ids, time) plus the listener's identity."""

    request_id: str
    time_epoch_ms: int
    trace_id: str  # "Root=1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy"
    host: str = "127.0.0.1:3000"
    port: int = 3000
    region: str = "us-east-1"
    account_id: str = "123456789012"
    api_id: str = "reweblocal"
    stage: str = "$default"
    function_name: str = "reweb-local"
    scheme: str = "http"  # what the listener speaks: X-Forwarded-Proto says it (https with --https, as on AWS)


@dataclass(slots=True)
class Outbound:
    """The HTTP answer the gateway sends to the client."""

    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    reason: str | None = None


class Failure(enum.Enum):
    """Every way an invocation can go wrong that a gateway answers with its own error page."""

    FUNCTION_ERROR = "function_error"  # /error, crash, init failure, function timeout
    MALFORMED = "malformed"  # the result is not a valid answer for this gateway
    GATEWAY_TIMEOUT = "gateway_timeout"  # the gateway's own integration timeout fired first
    REQUEST_TOO_LARGE = "request_too_large"  # body over the gateway's own limit
    EVENT_TOO_LARGE = "event_too_large"  # event JSON over Lambda's 6 MB invoke limit
    RESPONSE_TOO_LARGE = "response_too_large"  # result over Lambda's (or the gateway's) limit
    THROTTLED = "throttled"  # Lambda refused the invocation: concurrency limit or scaling rate (429 to the gateway)


class MalformedResult(ValueError):
    """The function returned something this gateway cannot turn into HTTP."""


@dataclass(frozen=True, slots=True)
class Prelude:
    """Status line and headers of a streamed response (from the JSON prelude)."""

    status: int
    headers: Headers


class Gateway(Protocol):
    name: str
    max_request_body: int  # the gateway's own limit on the client's body
    max_result: int  # the largest buffered result it accepts (bytes of JSON)
    integration_timeout: float | None  # seconds; None when only the function timeout applies
    streams: bool  # can carry Lambda response streaming
    # A streamed answer: the gateway's own limits on it (None: only Lambda's apply).
    stream_duration: float | None  # seconds from the start of the answer
    stream_idle_timeout: float | None  # seconds without a byte
    stream_throttle: tuple[int, int] | None  # (bytes sent at full speed, bytes per second after that)

    def build_event(self, req: Inbound, ctx: Context) -> JsonDict: ...

    def translate_result(self, payload: bytes) -> Outbound: ...

    def translate_prelude(self, prelude: JsonDict) -> Prelude: ...

    def failure(self, kind: Failure, ctx: Context) -> Outbound: ...


# ---- shared rules -------------------------------------------------------------------------------------

_TEXT_SUBTYPES = ("json", "xml", "javascript", "ecmascript")


def is_text_type(content_type: str | None) -> bool:
    """The text-versus-base64 rule: text/*, JSON, XML and JavaScript travel as text, all else base64."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime.startswith("text/"):
        return True
    _, _, subtype = mime.partition("/")
    return any(subtype == s or subtype.endswith("+" + s) for s in _TEXT_SUBTYPES)


def encode_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """(body string, isBase64Encoded) for an event."""
    if is_text_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # declared text but is not UTF-8: only base64 carries it intact
    return base64.b64encode(body).decode("ascii"), True


def decode_result_body(result: JsonDict) -> bytes:
    """The body bytes of a buffered result; a wrong type or bad base64 is a malformed result."""
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResult("body must be a string")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise MalformedResult("isBase64Encoded must be a boolean")
    if encoded:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise MalformedResult("body is not valid base64") from exc
    return body.encode("utf-8")


def typed(headers: Headers, default: str | None) -> Headers:
    """The answer's headers with the front door's own Content-Type for an answer that has none (None: it adds
    none). Which door adds what, and the sources, are in docs/local.md ("Content-Type the app never sent")."""
    if default is None or any(name.lower() == "content-type" for name, _ in headers):
        return headers
    return [*headers, ("Content-Type", default)]


def parse_json_object(payload: bytes) -> JsonDict:
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedResult("result is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedResult("result is not a JSON object")
    return value


def status_of(result: JsonDict, *, default: int | None = None) -> int:
    status = result.get("statusCode", default)
    # bool is an int subclass; a gateway would not take `true` as a status code.
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResult("statusCode must be an integer HTTP status")
    return status


def single_headers(value: Any) -> Headers:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MalformedResult("headers must be an object")
    out: Headers = []
    for name, item in value.items():
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise MalformedResult(f"header {name!r} must be a string")
        out.append((name, str(item)))
    return out


def multi_headers(value: Any) -> Headers:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MalformedResult("multiValueHeaders must be an object")
    out: Headers = []
    for name, items in value.items():
        if not isinstance(items, list):
            raise MalformedResult(f"multiValueHeaders[{name!r}] must be a list")
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise MalformedResult(f"multiValueHeaders[{name!r}] holds a non-string")
            out.append((name, str(item)))
    return out


def split_query(raw_query: str) -> list[tuple[str, str]]:
    """Pairs of the raw query, still encoded; `a` and `a=` both give ("a", "")."""
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((key, value))
    return pairs


def decoded_query(raw_query: str) -> list[tuple[str, str]]:
    """API Gateway's decoding: form-style, `+` is a space."""
    return [(unquote_plus(k), unquote_plus(v)) for k, v in split_query(raw_query)]


def decoded_path(raw_path: str) -> str:
    return unquote(raw_path)


def group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def json_error(status: int, message: str, extra: Headers | None = None) -> Outbound:
    body = json.dumps({"message": message}).encode()
    return Outbound(status, [("Content-Type", "application/json"), *(extra or [])], body)


def aws_time(epoch_ms: int) -> str:
    """`10/Jul/2026:19:19:05 +0000`, the requestTime format of API Gateway."""
    import time

    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    t = time.gmtime(epoch_ms / 1000)
    return f"{t.tm_mday:02d}/{months[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
