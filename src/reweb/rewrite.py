"""Pure request and response rewrites between the event and the app.

Request: drop headers a client could forge, add the Lambda context headers, move the authorization source,
remove the base path. Response: the Location fix, and compression.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .events.body import is_text_type
from .http import Headers, HttpRequest, HttpResponse
from .jsonenc import dumps_ascii, quote_ascii

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Headers only reweb may set; copies a client sent are removed (the trace id too: the Runtime API's is the real one).
# X-Original-URL / X-Rewrite-URL: IIS's, which Zend/Laminas (and Symfony before 5) route on instead of the path,
# so a client could reach a path the gateway never saw (a SnapStart hook's); reweb never sets them.
FORGEABLE = frozenset({"x-amzn-request-context", "x-amzn-lambda-context", "x-amzn-trace-id", "x-amz-tenant-id",
                       "x-forwarded-prefix", "x-original-url", "x-rewrite-url"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1"})
COMPRESS_MIN_BYTES = 256


def lambda_context(request_id: str, deadline_ms: int, function_arn: str, trace_id: str,
                   client_context: str, cognito_identity: str, env_json: str) -> str:
    """The x-amzn-lambda-context value as ASCII JSON (the same fields AWS Lambda Web Adapter sends).
    `env_json` is the environment part, encoded once at start; the rest is spliced, not dict-encoded."""
    return (f'{{"request_id":{quote_ascii(request_id)},"deadline":{int(deadline_ms)},'
            f'"invoked_function_arn":{quote_ascii(function_arn)},'
            f'"xray_trace_id":{quote_ascii(trace_id) if trace_id else "null"},'
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
                    authorization_source: str = "", base_path: str = "", tenant_id: str = "",
                    request_context_json: str | None = None) -> HttpRequest:
    """`request_context_json`: the event's own JSON text of `request_context` (jsonenc.loads_with_raw), used as
    the header when it is ASCII and on one line (whitespace between its tokens is still JSON); else, or when
    None, request_context is encoded here."""
    headers: Headers = []
    auth_value = None
    auth_source = authorization_source.lower()
    for name, value in request.headers:
        lower = name.lower()
        # CGI-style servers (PHP) read X_Original_URL as X-Original-URL: HTTP_X_ORIGINAL_URL either way.
        if lower in FORGEABLE or ("_" in lower and lower.replace("_", "-") in FORGEABLE):
            continue
        if auth_source and lower == auth_source:
            auth_value = value
            continue
        headers.append((name, value))
    if auth_value is not None:
        headers = [(n, v) for n, v in headers if n.lower() != "authorization"]
        headers.append(("Authorization", auth_value))
    if request_context is not None:
        raw = request_context_json
        headers.append(("x-amzn-request-context",
                        raw if raw is not None and raw.isascii() and "\n" not in raw and "\r" not in raw
                        else dumps_ascii(request_context)))
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


def _weights(accept_encoding: str) -> dict[str, float]:
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
    return weights


def preferred_coding(accept_encoding: str, brotli: bool = True) -> str | None:
    """The content coding to answer with (RFC 9110 12.5.3: `gzip;q=0` refuses), or None: "br" when Brotli is
    here and the client weighs it at least as high as gzip (at quality 5 it makes text 5-8% smaller than gzip
    -6, no slower: bench/compression.py), else "gzip" when the client accepts it. `*` stands for any coding not
    listed."""
    weights = _weights(accept_encoding)
    star = weights.get("*", 0.0)
    gzip_q = weights.get("gzip", weights.get("x-gzip", star))
    br_q = weights.get("br", star) if brotli else 0.0
    if br_q > 0 and br_q >= gzip_q:
        return "br"
    return "gzip" if gzip_q > 0 else None


BROTLI_QUALITY = 5


def brotli_module() -> Any:
    """The brotli module when installed (pip installs it with reweb; the one-file executable has it built in),
    else None: gzip then."""
    try:
        import brotli
    except ImportError:
        return None
    return brotli


# Headers that describe the app's bytes, not the encoded ones: the length, the codings, the digests of the original
# (Content-MD5, RFC 3230's Digest, RFC 9530's Repr-Digest) and of the content as sent (Content-Digest), and byte
# ranges (they would count encoded bytes the app never had). ETag is rewritten, not dropped (_weak_etag).
_DESCRIBE_ORIGINAL = frozenset({"content-length", "content-encoding", "content-md5", "digest", "repr-digest",
                                "content-digest", "accept-ranges", "etag"})


def _has_token(value: str, token: str) -> bool:
    """A comma-separated header (Cache-Control, Vary) lists `token` (lower-case), case-insensitively, as a whole
    directive: `no-transform`, not `x-no-transform`; `max-age=5`'s value is no directive."""
    value = value.lower()
    if token not in value:  # the common case, at the cost of one substring search
        return False
    return any(item.partition("=")[0].strip() == token for item in value.split(","))


def _coding_for(response: HttpResponse, request: HttpRequest, force: bool, negotiate: bool) -> str | None:
    """Which coding this response gets: None when it is not to be compressed for anyone, "" when it would be
    for another client (identity here, but it varies on Accept-Encoding), else "br" or "gzip". The type, status
    and header rules shared by both paths, read in one pass over the headers (it runs for every answer).
    Like nginx and Apache, never a part (206, or any answer with Content-Range: its numbers count the app's
    bytes), never an answer the app marked `Cache-Control: no-transform` (RFC 9110 7.7), and REWEB_FORCE_GZIP
    does not override either: a gzipped part with the original's Content-Range is corrupt for any client."""
    if not (force or negotiate) or response.status in (204, 206):
        return None
    content_type = encoding = None
    for name, value in response.headers:
        lower = name.lower()
        if lower == "content-type":
            content_type = value
        elif lower == "content-encoding":
            encoding = value
        elif lower == "content-range" or (lower == "cache-control" and _has_token(value, "no-transform")):
            return None
    if encoding and encoding.strip().lower() != "identity":
        return None
    if force:  # re:Web's REWEB_FORCE_GZIP: gzip, whatever the client said
        return "gzip"
    if not is_text_type(content_type):
        return None
    accept = request.header("accept-encoding") or ""
    coding = preferred_coding(accept, brotli="br" in accept.lower())
    if coding == "br" and brotli_module() is None:
        coding = preferred_coding(accept, brotli=False)
    return coding or ""


def _weak_etag(value: str) -> str | None:
    """The encoded variant's ETag: other bytes than the app's, so a strong tag would be a lie (RFC 9110 8.8.3).
    Weakened, as nginx does, rather than suffixed as Apache does ("tag-gzip"): the app still recognises a weak
    If-None-Match (weak comparison, 13.1.2) and answers 304, where a suffixed tag it never made matches nothing.
    A value that is no entity-tag at all is dropped (nginx too)."""
    value = value.strip()
    if value.startswith('W/"'):
        return value
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return "W/" + value
    return None


def _vary_accept_encoding(headers: Headers) -> None:
    """Add Vary: Accept-Encoding unless a Vary already names it (or is `*`)."""
    for name, value in headers:
        if name.lower() == "vary" and (_has_token(value, "accept-encoding") or value.strip() == "*"):
            return
    headers.append(("Vary", "Accept-Encoding"))


def _encoded_headers(headers: Headers, coding: str, length: int | None) -> Headers:
    """The encoded variant's headers in one pass: what describes the app's bytes goes (ETag weakened), the
    coding (unless "": a 304 has no content to be encoded), length and Vary come."""
    out: Headers = []
    vary_named = False
    for name, value in headers:
        lower = name.lower()
        if lower in _DESCRIBE_ORIGINAL:
            if lower == "etag" and (weak := _weak_etag(value)) is not None:
                out.append((name, weak))
            continue
        if lower == "vary" and not vary_named:
            vary_named = _has_token(value, "accept-encoding") or value.strip() == "*"
        out.append((name, value))
    if coding:
        out.append(("Content-Encoding", coding))
    if length is not None:
        out.append(("Content-Length", str(length)))
    if not vary_named:
        out.append(("Vary", "Accept-Encoding"))
    return out


def _without_body(response: HttpResponse, request: HttpRequest, force: bool, negotiate: bool) -> bool:
    """A 304 or an answer to HEAD (True): no body to touch, but the header fields of the 200 or GET it stands
    for (RFC 9110 15.4.5, 9.3.2), else a cache keeps a 304's strong ETag apart from the W/ copy it holds
    (RFC 9111 4.3.4). A 304 gets the weak ETag and Vary, no Content-Encoding (it has no content); a HEAD gets
    the coding too but no Content-Length: the encoded length is unknown without compressing. A HEAD whose GET
    would be empty or too small to compress (its Content-Length says so) is left as the GET would be."""
    if response.status != 304 and request.method != "HEAD":
        return False
    if response.status != 304:
        length = response.header("content-length")
        if length is not None and length.strip().isdigit() and (
                int(length) == 0 or (not force and int(length) < COMPRESS_MIN_BYTES)):
            return True
    coding = _coding_for(response, request, force, negotiate)
    if coding:
        response.headers = _encoded_headers(response.headers, "" if response.status == 304 else coding, None)
    elif coding == "":
        _vary_accept_encoding(response.headers)
    return True


def maybe_compress_stream(response: HttpResponse, request: HttpRequest, *, force: bool, negotiate: bool) -> None:
    """The streaming twin of maybe_compress (no peer compresses a Lambda response stream): the same rules, with
    the body compressed piece by piece as it arrives, each piece flushed (gzip's Z_SYNC_FLUSH, Brotli's flush)
    so the client gets it at once, not when the compressor's buffer fills. A streamed answer has no length to
    check: type decides."""
    if _without_body(response, request, force, negotiate):
        return
    coding = _coding_for(response, request, force, negotiate)
    if not coding:
        if coding == "":
            _vary_accept_encoding(response.headers)
        return
    first, original = response.body, response.stream  # taken now: the response is rewired below

    def plain() -> Iterator[bytes]:
        if first:
            yield first
        if original is not None:
            yield from original

    if coding == "br":
        compressor = brotli_module().Compressor(quality=BROTLI_QUALITY)

        def encoded() -> Iterator[bytes]:
            for piece in plain():
                out = compressor.process(piece) + compressor.flush()
                if out:
                    yield out
            yield compressor.finish()
    else:
        import zlib  # only when compression is on

        gzipper = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: the gzip format

        def encoded() -> Iterator[bytes]:
            for piece in plain():
                out = gzipper.compress(piece) + gzipper.flush(zlib.Z_SYNC_FLUSH)
                if out:
                    yield out
            yield gzipper.flush(zlib.Z_FINISH)

    response.body, response.stream = b"", _Closing(encoded(), original)
    response.headers = _encoded_headers(response.headers, coding, None)


class _Closing:
    """An iterator over the compressed pieces whose close() also closes the app's own stream (the adapter closes
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
    """Compress the body in place: gzip always with `force` (re:Web's REWEB_FORCE_GZIP), else Brotli or gzip as
    the client prefers, when the type compresses well. Never a body that is already encoded, empty, or tiny,
    nor a part or a no-transform answer (_coding_for); the encoded variant's headers: _encoded_headers."""
    if _without_body(response, request, force, negotiate):
        return
    if not response.body or (not force and len(response.body) < COMPRESS_MIN_BYTES):
        return
    coding = _coding_for(response, request, force, negotiate)
    if not coding:
        if coding == "":
            _vary_accept_encoding(response.headers)
        return
    if coding == "br":
        response.body = brotli_module().compress(response.body, quality=BROTLI_QUALITY)
    else:
        import gzip  # only when compression is on

        response.body = gzip.compress(response.body, compresslevel=6, mtime=0)
    response.headers = _encoded_headers(response.headers, coding, len(response.body))
