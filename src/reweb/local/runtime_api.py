"""The Lambda Runtime API, served to one instance (one server per instance, on an ephemeral port, so
whoever calls /next is known without guessing).

  GET  /2018-06-01/runtime/invocation/next            blocks until the pool assigns work
  POST /2018-06-01/runtime/invocation/{id}/response   buffered, or streamed (chunked, trailers)
  POST /2018-06-01/runtime/invocation/{id}/error
  POST /2018-06-01/runtime/init/error
  GET  /2018-06-01/runtime/restore/next               SnapStart: blocks (frozen, as the snapshot) until restored
  POST /2018-06-01/runtime/restore/error              SnapStart: the after-restore part failed
  POST /2020-01-01/extension/register                 an (internal) extension: SIGTERM at shutdown
  GET  /2020-01-01/extension/event/next               no events are ever sent: it blocks until shutdown
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from . import http11

PREFIX = "/2018-06-01/runtime"
EXTENSION_PREFIX = "/2020-01-01/extension"
MB = 1024 * 1024
BUFFERED_LIMIT = 6 * MB  # Lambda's synchronous response limit
STREAMED_LIMIT = 200 * MB
STREAM_TYPE = "application/vnd.awslambda.http-integration-response"


@dataclass(frozen=True, slots=True)
class Buffered:
    payload: bytes


@dataclass(frozen=True, slots=True)
class Errored:
    """The invocation failed: /error, a crash, a timeout, an init failure, an oversized response."""

    error_type: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    error_type: str | None = None  # from the trailers, or our own when a limit is hit
    error_body: str | None = None


@dataclass(slots=True)
class Streamed:
    """A streaming response: `chunks` yields bytes, then one StreamEnd."""

    content_type: str
    chunks: asyncio.Queue[bytes | StreamEnd] = field(default_factory=lambda: asyncio.Queue(maxsize=16))


Outcome = Buffered | Errored | Streamed


@dataclass(slots=True)
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    trace_id: str
    function_arn: str
    # Resolved once: with the whole result, an error, or the start of a stream.
    outcome: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    # Set when the runtime has finished answering (for streams: the last chunk), or it failed.
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    instance: int = 0  # the number of the instance that runs it, once given to one
    # Called once, at the first of finish() and deliver(): the instance that runs it has answered (Instance.give
    # sets it; the instance moves busy -> answered). abandon() clears it: a killed instance never answered.
    on_answered: Callable[[], None] | None = None
    ended_at: float = 0.0  # monotonic: when its runtime asked for more, ending its Invoke phase (0: not so)
    # Called once, at that /next: writes its END and REPORT (set by the pool while it supervises the invocation).
    on_ended: Callable[[], None] | None = None

    def settle(self, outcome: Outcome) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)
        if not isinstance(outcome, Streamed):
            self.finish()

    def abandon(self, outcome: Errored) -> None:
        """Settled by the emulator because the instance running it is being killed (function timeout, over its
        memory, its runtime exited): the client gets `outcome`, but the instance never answered, so it goes from
        busy to dead, not through answered (no `answer` for watchers, its Death says "busy")."""
        self.on_answered = None
        self.settle(outcome)

    def finish(self) -> None:
        """The runtime has finished answering (a whole payload, an error, a stream's end), or it failed."""
        self.finished.set()
        self._answered()

    def deliver(self) -> None:
        """The front door's client has the whole answer, though the runtime's stream may still be open (the head of
        a HEAD or bodiless answer, or every byte its Content-Length announced): it may ask again at once."""
        self._answered()

    def _answered(self) -> None:
        hook, self.on_answered = self.on_answered, None
        if hook is not None:
            hook()


class Sandbox(Protocol):
    """What the Runtime API needs from the instance it serves."""

    async def next_invocation(self) -> Invocation: ...

    def current(self) -> Invocation | None: ...

    def init_failed(self, error_type: str) -> None: ...

    async def restore_next(self) -> bool: ...

    def restore_failed(self, error_type: str) -> None: ...

    def out_of_memory(self) -> bool: ...

    extension_registered: bool


class RuntimeApi:
    def __init__(self, sandbox: Sandbox, note: Callable[[str], None] | None = None) -> None:
        self.sandbox = sandbox
        self.note = note
        self.refused = False  # noted once: a page polling by DNS rebinding would flood the console
        self.server: asyncio.Server | None = None
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, sock: socket.socket | None = None) -> str:
        """Listen on `sock` (made inside the instance's network namespace), or on a new loopback port."""
        if sock is not None:
            self.server = await asyncio.start_server(self._connection, sock=sock)
        else:
            self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                req = await http11.read_request(reader)
                if req is None:
                    break
                status, body, headers = await self._route(req)
                await req.drain()
                writer.write(http11.response_bytes(status, body, headers, close=not req.keep_alive))
                await writer.drain()
                if not req.keep_alive:
                    break
        except http11.BadRequest as exc:
            # A runtime that sends what is not HTTP/1.1 gets told so, as Lambda's Runtime API answers it, then the
            # connection ends (its framing is lost).
            if self.note is not None:
                self.note(f"Runtime API: a request that is not HTTP/1.1 ({exc}): answered 400, connection closed")
            with contextlib.suppress(ConnectionError):
                writer.write(http11.response_bytes(*_json(400, "InvalidRequest", f"malformed request: {exc}"),
                                                   close=True))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # close(): this per-connection task ends here; nothing awaits it (start_server callback), and
            # re-raising makes asyncio log a spurious traceback.
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _route(self, req: http11.Request) -> tuple[int, bytes, http11.Headers]:
        path = req.target.split("?", 1)[0]
        hosts = [value.lower() for name, value in req.headers if name.lower() == "host"]
        if len(hosts) != 1 or hosts[0] not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            # Every runtime sends the Host of AWS_LAMBDA_RUNTIME_API; a page of another site reaching this
            # loopback port by DNS rebinding (--network shared) sends its own, and /next would hand it events.
            if self.note is not None and not self.refused:
                self.refused = True
                self.note(f"Runtime API refused (403) to Host {hosts!r}: only 127.0.0.1:{self.port} is served")
            return _json(403, "Forbidden", f"only Host 127.0.0.1:{self.port} is served here")
        if path.startswith(EXTENSION_PREFIX):
            return await self._extension(req, path[len(EXTENSION_PREFIX):])
        if not path.startswith(PREFIX):
            return _json(404, "UnknownPath", path)
        tail = path[len(PREFIX):]
        if tail == "/invocation/next":
            if req.method != "GET":
                return _json(405, "MethodNotAllowed", req.method)
            return await self._next()
        if tail == "/init/error" and req.method == "POST":
            error_type = req.header("lambda-runtime-function-error-type") or "Runtime.Unknown"
            await req.drain()
            self.sandbox.init_failed(error_type)
            return 202, b'{"status":"OK"}', [("Content-Type", "application/json")]
        if tail == "/restore/next" and req.method == "GET":
            if not await self.sandbox.restore_next():  # not a SnapStart instance: as Lambda, no such route
                return _json(404, "UnknownPath", path)
            return 200, b"", [("Content-Type", "application/json")]
        if tail == "/restore/error" and req.method == "POST":
            error_type = req.header("lambda-runtime-function-error-type") or "Runtime.Unknown"
            await req.drain()
            self.sandbox.restore_failed(error_type)
            return 202, b'{"status":"OK"}', [("Content-Type", "application/json")]
        parts = tail.split("/")  # "", "invocation", id, verb
        if len(parts) == 4 and parts[1] == "invocation" and req.method == "POST":
            inv = self.sandbox.current()
            if inv is None or inv.request_id != parts[2] or inv.finished.is_set():
                return _json(400, "InvalidRequestID", "no such invocation in progress")
            if self.sandbox.out_of_memory():
                # The kernel killed part of the instance over its memory limit (the app, say) and the runtime
                # answers for it: on Lambda the whole sandbox is gone and this is the invocation's end.
                await req.drain()
                inv.abandon(Errored("Runtime.OutOfMemory", "Runtime exited with error: signal: killed"))
                return 202, b'{"status":"OK"}', [("Content-Type", "application/json")]
            if parts[3] == "response":
                return await self._response(req, inv)
            if parts[3] == "error":
                return await self._error(req, inv)
        return _json(404, "UnknownPath", path)

    async def _extension(self, req: http11.Request, tail: str) -> tuple[int, bytes, http11.Headers]:
        """Lambda's Extensions API, as much as shutdown needs: with an extension registered, Lambda sends the
        runtime SIGTERM and allows 500 ms before SIGKILL; without one the sandbox is just killed."""
        if tail == "/register" and req.method == "POST":
            await req.drain()
            self.sandbox.extension_registered = True
            return 200, b'{"functionName":"function","functionVersion":"$LATEST","handler":""}', [
                ("Content-Type", "application/json"), ("Lambda-Extension-Identifier", "reweb-local-extension")]
        if tail == "/event/next" and req.method == "GET":
            await asyncio.Event().wait()  # nothing is ever sent; the instance's shutdown cancels this
        return _json(404, "UnknownPath", EXTENSION_PREFIX + tail)

    async def _next(self) -> tuple[int, bytes, http11.Headers]:
        inv = await self.sandbox.next_invocation()
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", inv.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", inv.function_arn),
            ("Lambda-Runtime-Trace-Id", inv.trace_id),
        ]
        return 200, inv.event, headers

    async def _error(self, req: http11.Request, inv: Invocation) -> tuple[int, bytes, http11.Headers]:
        try:
            body = await req.read_body(BUFFERED_LIMIT)
        except http11.BodyTooLarge:
            body = b""
        error_type = req.header("lambda-runtime-function-error-type") or "Unhandled"
        message = ""
        with contextlib.suppress(ValueError, AttributeError, UnicodeDecodeError):
            message = str(json.loads(body).get("errorMessage", ""))
        inv.settle(Errored(error_type, message))
        return 202, b'{"status":"OK"}', [("Content-Type", "application/json")]

    async def _response(self, req: http11.Request, inv: Invocation) -> tuple[int, bytes, http11.Headers]:
        if (req.header("lambda-runtime-function-response-mode") or "").lower() == "streaming":
            await self._stream(req, inv)
            return 202, b'{"status":"OK"}', [("Content-Type", "application/json")]
        try:
            payload = await req.read_body(BUFFERED_LIMIT)
        except http11.BodyTooLarge as exc:
            inv.settle(Errored("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed"))
            return _json(413, "RequestEntityTooLarge",
                         f"Exceeded maximum allowed payload size ({BUFFERED_LIMIT} bytes); got {exc.args[0]}.")
        inv.settle(Buffered(payload))
        return 202, b'{"status":"OK"}', [("Content-Type", "application/json")]

    async def _stream(self, req: http11.Request, inv: Invocation) -> None:
        """Pump the chunked body into the invocation's queue as it arrives; trailers end it."""
        stream = Streamed(req.header("content-type") or "application/octet-stream")
        inv.settle(stream)
        size = 0
        # Until the terminating chunk arrives, the stream counts as cut short (the runtime died or was
        # killed mid-stream).
        end = StreamEnd("Runtime.TruncatedResponse", "the runtime stopped before the end of the stream")
        try:
            async for data in req.iter_body():
                size += len(data)
                if size <= STREAMED_LIMIT:
                    await stream.chunks.put(data)  # past the limit the rest is read and dropped
            if size > STREAMED_LIMIT:
                end = StreamEnd("Function.ResponseSizeTooLarge", "streamed response over 200 MB")
            else:
                end = StreamEnd(req.trailer("lambda-runtime-function-error-type"),
                                req.trailer("lambda-runtime-function-error-body"))
        finally:
            await stream.chunks.put(end)
            inv.finish()


def _json(status: int, error_type: str, message: str) -> tuple[int, bytes, http11.Headers]:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return status, body, [("Content-Type", "application/json")]
