"""Pure request and response rewrites between the event and the app.

Request: drop headers a client could forge, add the Lambda context headers, move the authorization source,
remove the base path. Response: the Location fix, and compression.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .events.body import is_text_type
from .http import Headers, HttpRequest, HttpResponse
from .jsonenc import dumps_ascii

# Headers only reweb may set; copies a client sent are removed (the trace id too: the Runtime API's is the real one).
FORGEABLE = frozenset({"x-amzn-request-context", "x-amzn-lambda-context", "x-amzn-trace-id", "x-amz-tenant-id",
                       "x-forwarded-prefix"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1"})
COMPRESS_MIN_BYTES = 256


def lambda_context(request_id: str, deadline_ms: int, function_arn: str, trace_id: str,
                   client_context: str, cognito_identity: str, env_json: str) -> str:
    """The x-amzn-lambda-context value as ASCII JSON (the same fields AWS Lambda Web Adapter sends).
    `env_json` is the environment part, encoded once at start; the rest is spliced, not dict-encoded."""
    return (f'{{"request_id":{dumps_ascii(request_id)},"deadline":{int(deadline_ms)},'
            f'"invoked_function_arn":{dumps_ascii(function_arn)},"xray_trace_id":{dumps_ascii(trace_id or None)},'
            f'"client_context":{_json_or_null(client_context)},"identity":{_json_or_null(cognito_identity)},'
            f'"env_config":{env_json}}}')


def _json_or_null(text: str) -> str:
    """A Runtime API JSON header re-encoded as ASCII JSON; kept as a string if it is not JSON."""
    if not text:
        return "null"
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    return dumps_ascii(value)


def prepare_request(request: HttpRequest, *, request_context: object, lambda_ctx: str, trace_id: str,
                    authorization_source: str = "", base_path: str = "", tenant_id: str = "") -> HttpRequest:
    headers: Headers = []
    auth_value = None
    auth_source = authorization_source.lower()
    for name, value in request.headers:
        lower = name.lower()
        if lower in FORGEABLE:
            continue
        if auth_source and lower == auth_source:
            auth_value = value
            continue
        headers.append((name, value))
    if auth_value is not None:
        headers = [(n, v) for n, v in headers if n.lower() != "authorization"]
        headers.append(("Authorization", auth_value))
    if request_context is not None:
        headers.append(("x-amzn-request-context", dumps_ascii(request_context)))
    headers.append(("x-amzn-lambda-context", lambda_ctx))
    if trace_id:
        headers.append(("x-amzn-trace-id", trace_id))
    if tenant_id:  # multi-tenant functions: the tenant Lambda routed this invocation for (LWA's header name)
        headers.append(("x-amz-tenant-id", tenant_id))
    if base_path:
        stripped = strip_base_path(request.path, base_path)
        if stripped != request.path:
            request.prefix += base_path
        request.path = stripped
    if request.prefix:  # what was removed from the public path, so the app can build its links
        headers.append(("X-Forwarded-Prefix", request.prefix))
    request.headers = headers
    return request


def strip_base_path(path: str, base: str) -> str:
    """Remove `base` from the front of `path` on whole segments only: /api/x -> /x, but /apix stays."""
    if path == base:
        return "/"
    if path.startswith(base + "/"):
        return path[len(base):]
    return path


def public_origin(request: HttpRequest) -> str | None:
    """scheme://host[:port] as the client sees it, from the headers the gateway set."""
    host = request.header("host")
    if not host:
        return None
    scheme = (request.header("x-forwarded-proto") or "https").split(",")[0].strip().lower()
    port = (request.header("x-forwarded-port") or "").split(",")[0].strip()
    host_has_port = host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]")
    if port and not host_has_port and port != {"https": "443", "http": "80"}.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def fix_location(response: HttpResponse, request: HttpRequest, app_port: int) -> None:
    """A redirect the app aims at localhost or at its own port goes to the public host instead."""
    location = response.header("location")
    if not location:
        return
    if location.startswith("//"):
        scheme_end = 2  # scheme-relative: //localhost:8080/x
    elif "://" in location[:12]:
        scheme_end = location.index("://") + 3
    else:
        return
    authority_end = len(location)
    for stop in "/?#":
        index = location.find(stop, scheme_end)
        if index != -1:
            authority_end = min(authority_end, index)
    authority = location[scheme_end:authority_end].rsplit("@", 1)[-1]
    if authority.startswith("["):
        host, _, port = authority.partition("]")
        host += "]"
        port = port.lstrip(":")
    else:
        host, _, port = authority.partition(":")
    if host.lower() not in _LOCAL_HOSTS and port != str(app_port):
        return
    origin = public_origin(request)
    if origin is None:
        return
    fixed = origin + location[authority_end:]
    response.headers = [(n, fixed if n.lower() == "location" else v) for n, v in response.headers]


def accepts_gzip(accept_encoding: str) -> bool:
    """RFC 9110 12.5.3: gzip (or x-gzip, or `*`) listed with a q-value above zero; `gzip;q=0` refuses."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = item.split(";")
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        weights.setdefault(coding.strip().lower(), weight)
    for coding in ("gzip", "x-gzip", "*"):
        if coding in weights:
            return weights[coding] > 0
    return False


def maybe_compress_stream(response: HttpResponse, request: HttpRequest, *, force: bool, negotiate: bool) -> None:
    """The streaming twin of maybe_compress (no peer compresses a Lambda response stream): the same rules, with
    the body gzipped piece by piece as it arrives, each piece flushed (Z_SYNC_FLUSH) so the client gets it at
    once, not when the compressor's buffer fills. A streamed answer has no length to check: type decides."""
    if not (force or negotiate) or response.status in (204, 304) or request.method == "HEAD":
        return
    if response.header("content-encoding") not in (None, "", "identity"):
        return
    if not force and not (accepts_gzip(request.header("accept-encoding") or "")
                          and is_text_type(response.header("content-type"))):
        return
    import zlib  # only when compression is on

    first, original = response.body, response.stream  # taken now: the response is rewired below
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: the gzip format

    def plain() -> Iterator[bytes]:
        if first:
            yield first
        if original is not None:
            yield from original

    def gzipped() -> Iterator[bytes]:
        for piece in plain():
            out = compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)
            if out:
                yield out
        yield compressor.flush(zlib.Z_FINISH)

    response.body, response.stream = b"", _Closing(gzipped(), original)
    headers = [(n, v) for n, v in response.headers if n.lower() not in ("content-length", "content-encoding")]
    headers.append(("Content-Encoding", "gzip"))
    vary = [v for n, v in headers if n.lower() == "vary"]
    if not any("accept-encoding" in v.lower() or v.strip() == "*" for v in vary):
        headers.append(("Vary", "Accept-Encoding"))
    response.headers = headers


class _Closing:
    """An iterator over the gzipped pieces whose close() also closes the app's own stream (the adapter closes
    a stream it abandons, and the app connection must not be left mid-body)."""

    def __init__(self, pieces: Iterator[bytes], inner: Iterator[bytes] | None) -> None:
        self.pieces = pieces
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self.pieces)

    def close(self) -> None:
        for it in (self.pieces, self.inner):
            close = getattr(it, "close", None)
            if close is not None:
                close()


def maybe_compress(response: HttpResponse, request: HttpRequest, *, force: bool, negotiate: bool) -> None:
    """Gzip the body in place: always with `force` (re:Web's REWEB_FORCE_GZIP), else when the client accepts
    gzip and the type compresses well. Never a body that is already encoded, empty, or tiny."""
    if not (force or negotiate) or not response.body or response.status in (204, 304):
        return
    if response.header("content-encoding") not in (None, "", "identity"):
        return
    if not force:
        if not accepts_gzip(request.header("accept-encoding") or ""):
            return
        if len(response.body) < COMPRESS_MIN_BYTES or not is_text_type(response.header("content-type")):
            return
    import gzip  # only when compression is on

    response.body = gzip.compress(response.body, compresslevel=6, mtime=0)
    headers = [(n, v) for n, v in response.headers if n.lower() not in ("content-length", "content-encoding")]
    headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(response.body))))
    vary = [v for n, v in headers if n.lower() == "vary"]
    if not any("accept-encoding" in v.lower() or v.strip() == "*" for v in vary):
        headers.append(("Vary", "Accept-Encoding"))
    response.headers = headers
