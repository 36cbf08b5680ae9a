"""The front door: an aiohttp server on 127.0.0.1 that plays the chosen AWS gateway.

Request -> gateway event -> pool -> instance -> outcome -> the gateway's HTTP answer (or its error page).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
import uuid

from aiohttp import hdrs, web
from multidict import CIMultiDict

from .. import log
from .dashboard import Dashboard
from .gateways import Context, Failure, Gateway, Inbound, MalformedResult, Outbound
from .gateways.base import MB
from .instances import InitFailed, Pool, Throttled
from .options import Options
from .report import Logger
from .runtime_api import STREAM_TYPE, Buffered, Errored, Invocation, Streamed, StreamEnd

EVENT_LIMIT = 6 * MB  # Lambda's synchronous invoke request limit (the event JSON)
DELIMITER = b"\0" * 8
PRELUDE_LIMIT = 64 * 1024

# Never copied from the function's answer: the front door frames the body itself.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
                      "upgrade", "proxy-connection"})


class _Untouched(web.StreamResponse):
    """aiohttp labels a body without a Content-Type application/octet-stream on its own; the front door sends the
    Content-Type its gateway decided on (docs/local.md, "Content-Type the app never sent"), or none at all."""

    typed = True

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        if not self.typed:
            self._headers.popall(hdrs.CONTENT_TYPE, None)


class _UntouchedResponse(web.Response, _Untouched):
    pass


def _untouched(response: _Untouched, headers: list[tuple[str, str]]) -> None:
    response.typed = any(name.lower() == "content-type" for name, _ in headers)


def init_failure_detail(error_type: str, cause: str) -> str:
    """The x-reweb-local-init-error header: the error type, the reason field of reweb's last error record (its
    message if it has none; either log format, read by log.parse) and the app's last line of output."""
    lines = [line for line in cause.splitlines() if line.strip()]
    records = [(line, log.parse(line)) for line in reversed(lines)]
    said = next((line for line, record in records if record is None), "")
    why = next((str(record.get("reason") or record["message"]) for _, record in records
                if record and record["level"] == "ERROR"), "")
    text = "; ".join(part for part in (why, f"the app's last output: {said}" if said else "") if part)
    return " ".join(f"{error_type}: {text}".split())[:500].encode("ascii", "replace").decode()


def trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def gateway_headers(gateway: Gateway, ctx: Context) -> list[tuple[str, str]]:
    """What each front door stamps on answers it relays."""
    if gateway.name == "rest":
        return [("x-amzn-RequestId", ctx.request_id), ("x-amz-apigw-id", ctx.request_id[:16]),
                ("X-Amzn-Trace-Id", ctx.trace_id)]
    if gateway.name == "http-api":
        return [("Apigw-Requestid", ctx.request_id)]
    if gateway.name == "function-url":
        return [("x-amzn-RequestId", ctx.request_id), ("X-Amzn-Trace-Id", ctx.trace_id)]
    return []


class FrontDoor:
    def __init__(self, opts: Options, pool: Pool, gateway: Gateway, log: Logger,
                 dashboard: Dashboard | None = None) -> None:
        self.opts = opts
        self.pool = pool
        self.gateway = gateway
        self.log = log
        # Figures are always collected (the Ctrl-C summary); the pages are served only when it says so.
        self.dashboard = dashboard if dashboard is not None else Dashboard(opts, pool, log, serve=False)
        self.stats = self.dashboard.stats
        self.websocket_noted = False
        self.background: set[asyncio.Future[None]] = set()  # streams still drained after the gateway cut them

    def app(self) -> web.Application:
        # client_max_size: we read and judge bodies ourselves, to answer with the gateway's own 413.
        app = web.Application(client_max_size=1024**4)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    def context(self, request: web.Request) -> Context:
        return Context(
            request_id=str(uuid.uuid4()),
            time_epoch_ms=int(time.time() * 1000),
            trace_id=trace_id(),
            host=request.host or f"127.0.0.1:{self.opts.port}",
            port=self.opts.port,
            region=self.opts.region,
            stage="local" if self.gateway.name == "rest" else "$default",
            function_name=self.opts.function_name,
            scheme="https" if self.opts.https else "http",
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.dashboard.owns(request.raw_path.partition("?")[0]):
            return await self.dashboard.handle(request)  # the reserved prefix: never the app's
        if not self.websocket_noted and request.headers.get("Upgrade", "").lower() == "websocket":
            self.websocket_noted = True  # once: a page retrying its socket would flood the console
            self.log.note(f"a client asked for a WebSocket ({request.raw_path[:80]}): Lambda's HTTP front doors, "
                          f"like this emulated {self.gateway.name}, cannot carry one; it goes to the app as a plain "
                          "request (see README, 'What cannot work on Lambda')")
        ctx = self.context(request)
        self.stats.request_started(ctx.request_id, request.method, request.raw_path)
        began = time.monotonic()
        status: int | None = None
        try:
            response = await self.relay(request, ctx)
            status = response.status
            return response
        finally:  # also when the client went away mid-answer (status None)
            self.stats.request_answered(ctx.request_id, status, (time.monotonic() - began) * 1000)

    async def relay(self, request: web.Request, ctx: Context) -> web.StreamResponse:
        gw = self.gateway
        body = await _read_limited(request, gw.max_request_body)
        if body is None:
            self.stats.failed(ctx.request_id, "request too large: not invoked", invoked=False)
            return self.answer(request, gw.failure(Failure.REQUEST_TOO_LARGE, ctx))
        path, _, query = request.raw_path.partition("?")
        inbound = Inbound(
            method=request.method,
            raw_path=path or "/",
            raw_query=query,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
            body=body,
            source_ip=request.remote or "127.0.0.1",
            protocol=f"HTTP/{request.version.major}.{request.version.minor}",
        )
        event = json.dumps(gw.build_event(inbound, ctx)).encode()
        if len(event) > EVENT_LIMIT:
            self.log.note(f"{ctx.request_id}: event of {len(event)} bytes is over Lambda's 6 MB invoke limit")
            self.stats.failed(ctx.request_id, "event over 6 MB: not invoked", invoked=False)
            return self.answer(request, gw.failure(Failure.EVENT_TOO_LARGE, ctx))
        try:
            async with asyncio.timeout(gw.integration_timeout):
                inv = await self.pool.invoke(event, ctx.request_id, ctx.trace_id)
                outcome = await asyncio.shield(inv.outcome)
        except TimeoutError:
            # The gateway gives up; the function keeps running until its own timeout, as on AWS.
            self.stats.failed(ctx.request_id, f"{gw.name} timed out ({gw.integration_timeout:g} s)")
            return self.answer(request, gw.failure(Failure.GATEWAY_TIMEOUT, ctx), ctx)
        except Throttled as exc:
            # Lambda refused the invocation (TooManyRequestsException): no instance, nothing billed.
            self.log.note(f"{ctx.request_id}: throttled: {exc.reason}")
            self.dashboard.throttled(ctx.request_id)
            return self.answer(request, gw.failure(Failure.THROTTLED, ctx), ctx)
        except InitFailed as exc:
            self.stats.failed(ctx.request_id, f"init failed: {exc.error_type}", invoked=False)
            out = gw.failure(Failure.FUNCTION_ERROR, ctx)
            # AWS's answer as it is, plus the emulator's own header with the cause.
            out.headers.append(("x-reweb-local-init-error", init_failure_detail(exc.error_type, exc.cause)))
            return self.answer(request, out, ctx)
        self.dashboard.invoked(ctx.request_id, inv)
        if isinstance(outcome, Errored):
            return self.answer(request, self.error_answer(outcome, ctx), ctx)
        if isinstance(outcome, Streamed):
            if self.opts.stream:
                return await self.relay_stream(request, inv, outcome, ctx)
            # A streamed answer to a buffered invoke arrives as one payload, prelude and all.
            payload = await _collect(outcome)
            if payload is None:
                self.stats.failed(ctx.request_id, "stream failed")
                return self.answer(request, gw.failure(Failure.FUNCTION_ERROR, ctx), ctx)
            outcome = Buffered(payload)
        return self.answer(request, self.buffered_answer(outcome, ctx), ctx)

    def error_answer(self, outcome: Errored, ctx: Context) -> Outbound:
        self.log.note(f"{ctx.request_id}: invocation failed: {outcome.error_type} {outcome.message}".rstrip())
        self.stats.failed(ctx.request_id, outcome.error_type)
        return self.gateway.failure(Failure.FUNCTION_ERROR, ctx)

    def buffered_answer(self, outcome: Buffered, ctx: Context) -> Outbound:
        gw = self.gateway
        if len(outcome.payload) > gw.max_result:
            self.log.note(f"{ctx.request_id}: result of {len(outcome.payload)} bytes is over {gw.name}'s limit")
            self.stats.failed(ctx.request_id, f"result over {gw.name}'s limit")
            return gw.failure(Failure.RESPONSE_TOO_LARGE, ctx)
        try:
            return gw.translate_result(outcome.payload)
        except MalformedResult as exc:
            self.log.note(f"{ctx.request_id}: malformed Lambda result for {gw.name}: {exc}")
            self.stats.failed(ctx.request_id, "malformed result")
            return gw.failure(Failure.MALFORMED, ctx)

    def answer(self, request: web.Request, out: Outbound, ctx: Context | None = None) -> web.StreamResponse:
        headers = CIMultiDict[str]()
        for name, value in out.headers:
            if name.lower() not in _FRAMING:
                headers.add(name, value)
            elif name.lower() == "content-length" and request.method == "HEAD" and not out.body:
                headers.add(name, value)  # a HEAD answer announces the size of the GET body
        if ctx is not None:
            for name, value in gateway_headers(self.gateway, ctx):
                headers.setdefault(name, value)
        try:
            response = _UntouchedResponse(status=out.status, reason=out.reason, headers=headers, body=out.body)
            _untouched(response, out.headers)
            return response
        except ValueError as exc:  # a header aiohttp will not put on the wire (CR/LF in a value...)
            self.log.note(f"malformed Lambda result: {exc}")
            if ctx is not None:
                self.stats.failed(ctx.request_id, "malformed result")
            fail = self.gateway.failure(Failure.MALFORMED, ctx or self.context(request))
            return web.Response(status=fail.status, headers=CIMultiDict(fail.headers), body=fail.body)

    async def send(self, response: web.StreamResponse, data: bytes, pace: Pace, ctx: Context, inv: Invocation,
                   owed: int | None) -> int | None:
        """Relay `data` of a stream. `owed`: the bytes its client still needs for a whole answer (None: the answer
        ends with the stream), returned less these."""
        delay, crossed = pace.take(len(data), time.monotonic())
        if crossed and pace.throttle is not None:
            free, rate = pace.throttle
            self.log.note(f"{ctx.request_id}: past {free // MB} MB: the rest of this stream goes at {rate // MB} MB/s, "
                          f"as {self.gateway.name} on AWS paces a stream")
        if delay > 0:
            await asyncio.sleep(delay)
        if owed is not None:
            owed -= len(data)
            if owed <= 0:
                inv.deliver()  # these bytes make the answer whole: said before they go (the instance answered)
        with contextlib.suppress(ConnectionError):
            await response.write(data)  # a client gone early must not stall the runtime's stream
        return owed

    async def relay_stream(self, request: web.Request, inv: Invocation, stream: Streamed,
                           ctx: Context) -> web.StreamResponse:
        gw = self.gateway
        first = b""
        status, headers = 200, [("Content-Type", stream.content_type)]
        item: bytes | StreamEnd = b""
        if stream.content_type == STREAM_TYPE:
            # Read up to the 8 NUL bytes that end the JSON prelude.
            buf = b""
            while DELIMITER not in buf:
                item = await stream.chunks.get()
                if isinstance(item, StreamEnd) or len(buf) > PRELUDE_LIMIT:
                    await _drain(stream, item)
                    fail = Failure.FUNCTION_ERROR if isinstance(item, StreamEnd) else Failure.MALFORMED
                    self.stats.failed(ctx.request_id, "stream failed" if isinstance(item, StreamEnd)
                                      else "malformed streaming prelude")
                    return self.answer(request, gw.failure(fail, ctx), ctx)
                buf += item
            prelude_bytes, _, first = buf.partition(DELIMITER)
            try:
                prelude = gw.translate_prelude(json.loads(prelude_bytes))
            except (ValueError, MalformedResult) as exc:
                self.log.note(f"{ctx.request_id}: malformed streaming prelude: {exc}")
                self.stats.failed(ctx.request_id, "malformed streaming prelude")
                await _drain(stream, b"")
                return self.answer(request, gw.failure(Failure.MALFORMED, ctx), ctx)
            status, headers = prelude.status, prelude.headers
        response = _Untouched(status=status)
        _untouched(response, headers)
        length: int | None = None
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length" and value.isascii() and value.isdigit():
                # Kept, as in the buffered path (assumed of the real front door: not confirmed against AWS):
                # the body goes out as is, not chunked; a HEAD answer announces the GET body's size.
                length = response.content_length = int(value)
            elif lower not in _FRAMING:
                response.headers.add(name, value)
        for name, value in gateway_headers(gw, ctx):
            response.headers.setdefault(name, value)
        head = request.method == "HEAD"
        # The bytes the client still needs for a whole answer: none past the head of a HEAD or bodiless one, the
        # Content-Length's, or (None) all up to the end of the stream. A whole answer may reach the client before
        # the runtime's terminating chunk: the invocation says so (deliver), and its instance is answered from then
        # on (a request in that instant is handled as in any answered instance's window: instances.py, TRANSITIONS).
        owed = 0 if head or status in (204, 304) else length
        if owed == 0:
            inv.deliver()  # before the head goes out: it is the whole answer
        await response.prepare(request)
        pace = Pace(gw.stream_throttle)
        began = time.monotonic()
        if first and not head:
            owed = await self.send(response, first, pace, ctx, inv, owed)
        while True:
            wait, why = stream_wait(gw, time.monotonic() - began)
            try:
                async with asyncio.timeout(wait):
                    item = await stream.chunks.get()
            except TimeoutError:
                # The gateway gives up on the stream (the function goes on, as on AWS): the client sees it cut off.
                self.log.note(f"{ctx.request_id}: {gw.name} ended the stream: {why}")
                self.stats.failed(ctx.request_id, f"{gw.name} stream: {why}")
                if request.transport is not None:
                    request.transport.abort()
                drain = asyncio.ensure_future(_drain(stream, b""))
                self.background.add(drain)
                drain.add_done_callback(self.background.discard)
                return response
            if isinstance(item, StreamEnd):
                break
            if head:
                continue  # HEAD: no body reaches the client, as in the buffered path
            owed = await self.send(response, item, pace, ctx, inv, owed)
        if item.error_type:
            # Mid-stream failure: the client sees the body cut off (no terminating chunk), as on AWS.
            self.log.note(f"{ctx.request_id}: stream ended with {item.error_type}")
            self.stats.failed(ctx.request_id, item.error_type)
            if request.transport is not None:
                request.transport.abort()
            return response
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response


class Pace:
    """Past the first `free` bytes of a stream, at most `rate` bytes a second (API Gateway's pace for a REST
    stream); no limit without a throttle. `take` says how long to wait before sending the next bytes."""

    def __init__(self, throttle: tuple[int, int] | None) -> None:
        self.throttle = throttle
        self.sent = 0
        self.since: float | None = None  # when the stream went past `free`

    def take(self, size: int, now: float) -> tuple[float, bool]:
        """(seconds to wait before sending `size` more bytes, whether these bytes are the first past `free`)."""
        if self.throttle is None:
            return 0.0, False
        free, rate = self.throttle
        self.sent += size
        over = self.sent - free
        if over <= 0:
            return 0.0, False
        crossed = self.since is None
        if self.since is None:
            self.since = now
        return max(0.0, self.since + over / rate - now), crossed


def stream_wait(gw: Gateway, elapsed: float) -> tuple[float | None, str]:
    """How long the gateway waits for the stream's next bytes, and what it says when that runs out."""
    left = None if gw.stream_duration is None else max(0.0, gw.stream_duration - elapsed)
    idle = gw.stream_idle_timeout
    if left is not None and (idle is None or left <= idle):
        return left, f"its {gw.stream_duration:g} s limit for a stream"
    if idle is None:
        return None, ""
    return idle, f"{idle:g} s without a byte (its idle timeout)"


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The client's body, or None when it is larger than `limit` (read no further than needed)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    parts: list[bytes] = []
    size = 0
    async for data in request.content.iter_chunked(65536):
        size += len(data)
        if size > limit:
            return None
        parts.append(data)
    return b"".join(parts)


async def _collect(stream: Streamed) -> bytes | None:
    parts: list[bytes] = []
    while True:
        item = await stream.chunks.get()
        if isinstance(item, StreamEnd):
            return None if item.error_type else b"".join(parts)
        parts.append(item)


async def _drain(stream: Streamed, last: bytes | StreamEnd) -> None:
    """Consume the rest of a stream nobody will read, so the runtime is never blocked on it."""
    while not isinstance(last, StreamEnd):
        last = await stream.chunks.get()
