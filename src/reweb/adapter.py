"""Wires the line: Runtime API -> event decode -> rewrites -> the app -> rewrites -> encode -> Runtime API.

One Worker per concurrent invocation slot (AWS_LAMBDA_MAX_CONCURRENCY on Lambda Managed Instances), each with
its own Runtime API connection and its own keep-alive connection to the app.
"""

from __future__ import annotations

import threading
import time

from . import events
from .app import App, AppExited, describe_exit
from .config import Settings
from .events.common import EventError, Kind
from .hookpath import HookPaths
from .http import HttpRequest, HttpResponse
from .jsonenc import dumps_ascii, loads_with_raw
from .log import Log
from .responders import Buffered, Offloading, PassThrough, Responder, Streaming, error_response
from .responders import encode_json as encode_json  # re-exported: bench/stages.py times it under this name
from .rewrite import lambda_context, prepare_request
from .runtime import Invocation, RuntimeClient, RuntimeError_
from .threads import start_daemon
from .upstream import Upstream, UpstreamError

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any

    from .offload import Offload

DEADLINE_MARGIN = 0.1  # seconds kept back to answer 504 ourselves before Lambda kills the sandbox
RESTART_WAIT = 10.0
ERROR_BODY_KEPT = 64 * 1024  # of the app's body in an invocation error (REWEB_ERROR_STATUS_CODES)
# Seconds the error's excerpt of the body may take (within the invocation's deadline). An error body follows its
# head at once (most servers write both together; 64 KB over loopback is microseconds): one still coming seconds
# later is an app that streams its error or hangs in it, and waiting to the deadline (up to 15 minutes) would hold
# the invocation, and bill it, for nothing. 2 s, not less: room for an app slowed by a loaded or throttled CPU.
ERROR_BODY_WAIT = 2.0
RUNTIME_API_GIVE_UP = 5.0  # seconds of failed /next calls after which the Runtime API is taken to be gone
_STATUS_FOR = {"refused": 502, "closed": 502, "garbage": 502, "too_large": 502, "timeout": 504, "bad_request": 400}


class Adapter:
    def __init__(self, settings: Settings, log: Log, runtime_address: str, env_config: dict[str, Any],
                 app: App | None = None) -> None:
        self.settings = settings
        self.log = log
        self.runtime_address = runtime_address
        self.env_config = env_config
        self.env_json = dumps_ascii(env_config)  # constant for the life of the process: encoded once
        self.app_authority = settings.authority(settings.port)  # the pass-through request's Host
        self.hook_keys = HookPaths(settings.hook_paths)  # refused to clients however spelled (SnapStart)
        self.app = app if app is not None else App(settings, log)  # cli starts it before importing us
        self.offload: Offload | None = None  # made at the first response over the limit (REWEB_OFFLOAD_BUCKET)

    def worker(self) -> Worker:
        return Worker(self, RuntimeClient(self.runtime_address))

    def run(self) -> int:
        """Serve invocations until the Runtime API is gone (then 1): in this thread, or in N threads for
        Managed Instances. A worker never dies of an error; the app is supervised by App, not by a worker."""
        count = self.settings.concurrency
        if count == 1:
            return self.worker().loop()
        gone = threading.Event()

        def serve(worker: Worker) -> None:
            try:
                worker.loop()
            finally:
                gone.set()

        for i in range(count):
            start_daemon(serve, self.worker(), name=f"reweb-worker-{i}")
        self.log.info("workers started", count=count)
        gone.wait()
        return 1


class Worker:
    """One invocation slot; also the app view (upstream.AppView) of its own connection to the app, which it makes
    (`upstream`: another connection, for tests)."""

    def __init__(self, adapter: Adapter, runtime: RuntimeClient, upstream: Upstream | None = None) -> None:
        settings = self.settings = adapter.settings
        self.adapter = adapter
        self.log = adapter.log
        self.app = adapter.app
        self.runtime = runtime
        self.upstream = upstream if upstream is not None else Upstream(
            settings.port, settings.host, adapter.log, settings.pool_idle_timeout, self,
            settings.error_status_codes)  # a listed status's body comes as a stream: body_excerpt reads 64 KB
        self.restart_needed = False
        self.deadline: float | None = None  # of the current invocation, monotonic
        self.exchange_pid = 0  # the app process the current exchange talks to (another may replace it meanwhile)
        # One responder per result path, made once, and the one for each event kind chosen once (responder_for):
        # an invocation costs a dict lookup.
        self.buffered = Buffered(self)
        self.passthrough = PassThrough(self)
        self.streaming = Streaming(self)
        self.offloading = Offloading(self) if self.settings.offload_bucket else None
        self.responders = {kind: self.responder_for(kind) for kind in events.KINDS}

    def loop(self) -> int:
        """Take and serve invocations; returns 1 only when the Runtime API has failed for RUNTIME_API_GIVE_UP
        seconds in a row (retried with a short backoff until then)."""
        failed_since = 0.0
        failures = 0
        breathing_room = self.settings.breathing_room_ms / 1000
        while True:
            try:
                invocation = self.runtime.next()
            except Exception as exc:
                now = time.monotonic()
                failures += 1
                failed_since = failed_since or now
                reason = f"{type(exc).__name__}: {exc}"
                self.runtime.conn.close()
                if now - failed_since >= RUNTIME_API_GIVE_UP:
                    self.log.error("the Lambda Runtime API is unreachable; reweb exits", failures=failures,
                                   seconds=round(now - failed_since, 1), reason=reason)
                    return 1
                self.log.warn("asking the Lambda Runtime API for the next invocation failed; retrying",
                              attempt=failures, reason=reason)
                time.sleep(min(0.01 * 2 ** failures, 0.5))
                continue
            failed_since, failures = 0.0, 0
            try:
                self.handle(invocation)
            except RuntimeError_ as exc:
                self.log.error("the Runtime API refused the result", request_id=invocation.request_id,
                               reason=str(exc))
            except Exception as exc:  # last line of defence: report, never die
                self.log.error("unexpected failure", request_id=invocation.request_id,
                               reason=f"{type(exc).__name__}: {exc}")
                try:  # noqa: SIM105 (no contextlib at init: ~1.7 M instructions)
                    self.runtime.error(invocation.request_id, "Runtime.AdapterError", f"{type(exc).__name__}: {exc}")
                except Exception:
                    pass
            if self.restart_needed:
                self.restart_needed = False
                self.upstream.close()
                self.app.restart(time.monotonic() + RESTART_WAIT)
            elif breathing_room:
                time.sleep(breathing_room)  # the app's after-answer work runs now, not at the next thaw

    # -- one invocation --------------------------------------------------------------------------------

    def responder_for(self, kind: Kind) -> Responder:
        """The one place that decides how an invocation's result goes back (responders.py)."""
        if not kind.http:  # its answer goes to its invoker, not to a browser: never streamed nor offloaded
            return self.passthrough
        if kind.prelude is not None and self.settings.streaming:
            return self.streaming
        return self.offloading or self.buffered

    def handle(self, invocation: Invocation) -> None:
        settings = self.settings
        started = time.monotonic()
        try:
            # The requestContext's own JSON text comes along: the x-amzn-request-context header without a
            # second encoding of it (a tenth of an invocation's CPU).
            event, context_json = loads_with_raw(invocation.body, "requestContext")
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            self.log.error("the event is not JSON", request_id=invocation.request_id, reason=reason)
            self.runtime.error(invocation.request_id, "Runtime.InvalidEvent", f"reweb: the event is not JSON: {reason}")
            return
        kind = events.detect(event)
        if kind.http:
            try:
                request = kind.decode(event)
            except (EventError, ValueError, TypeError, AttributeError) as exc:
                self.log.error("malformed event", kind=kind.name, request_id=invocation.request_id, reason=str(exc))
                self.buffered.result(invocation, kind, error_response(400, f"malformed {kind.name} event: {exc}"))
                return
            context = event.get("requestContext")
            # The body now lives in request.body: drop the event's copies (a 6 MB request would keep three).
            invocation.body = b""
            event.pop("body", None)
        else:
            request = HttpRequest("POST", settings.pass_through_path, "",
                                  [("Host", self.adapter.app_authority), ("Content-Type", "application/json")],
                                  invocation.body)
            context = context_json = None
        request = prepare_request(
            request,
            request_context=context,
            request_context_json=context_json,
            lambda_ctx=lambda_context(
                invocation.request_id, invocation.deadline_ms, invocation.function_arn, invocation.trace_id,
                invocation.client_context, invocation.cognito_identity, self.adapter.env_json),
            trace_id=invocation.trace_id,
            authorization_source=settings.authorization_source,
            base_path=settings.remove_base_path if kind.http else "",
            tenant_id=invocation.tenant_id,
        )
        if self.adapter.hook_keys and kind.http and self.adapter.hook_keys.refuses(request.path):
            self.log.warn("a request for a SnapStart hook's path was refused", request_id=invocation.request_id,
                          path=request.path[:200])
            self.buffered.result(invocation, kind, error_response(403, "this path is reserved for SnapStart hooks"))
            return
        responder = self.responders[kind]
        response = self.call_app(invocation, request, kind, responder)
        if self.log.debug_enabled:
            self.log.debug("request", request_id=invocation.request_id, kind=kind.name, method=request.method,
                           target=request.target[:200], status=response.status,
                           ms=round((time.monotonic() - started) * 1000, 2))
        if response.status in settings.error_status_codes:
            self.error_status(invocation, response)
            return
        responder.send(invocation, request, kind, response)

    def error_status(self, invocation: Invocation, response: HttpResponse) -> None:
        """A status listed in REWEB_ERROR_STATUS_CODES: an invocation error (POST /error) carrying the status and
        the first ERROR_BODY_KEPT bytes of the app's body, buffered or streamed alike (LWA #668: without the body
        the error says nothing of why). Nothing of it is streamed: a stream could only report the error after
        its status and body had gone out as a response."""
        if response.origin != "app":  # reweb's own answer (the app failed): its message is the error
            self.runtime.error(invocation.request_id, "HttpError",
                               response.body[:ERROR_BODY_KEPT].decode("utf-8", "replace").strip())
            return
        body, cut = self.body_excerpt(response, ERROR_BODY_KEPT)
        self.runtime.error(invocation.request_id, "HttpError",
                           f"the app answered {response.status}, listed in REWEB_ERROR_STATUS_CODES: "
                           f"{body.decode('utf-8', 'replace')}{cut}")

    def body_excerpt(self, response: HttpResponse, size: int) -> tuple[bytes, str]:
        """The first `size` bytes of the app's body, read from its stream as far as needed (for ERROR_BODY_WAIT
        seconds at most, within the invocation's deadline), then the stream closed; and a note when that is not
        the whole body. A listed status always has its body in a stream, buffered too (Upstream.stream_statuses):
        a body over the source's limit is cut here like any other, not refused as too large."""
        body = response.body
        stream = response.stream
        if stream is not None:
            pieces = [body]
            read = len(body)
            own_bound = self.upstream.hurry(time.monotonic() + ERROR_BODY_WAIT)
            try:
                while read <= size:  # one byte past `size` tells whether the body goes on
                    chunk = next(stream, None)
                    if chunk is None:
                        break
                    pieces.append(chunk)
                    read += len(chunk)
            except UpstreamError as exc:
                if exc.kind == "timeout":  # the connection is dropped, the rest never read
                    return b"".join(pieces)[:size], (f" [its body was still coming after {ERROR_BODY_WAIT:g} s]"
                                                     if own_bound else
                                                     " [its body was still coming at the invocation's deadline]")
                self.exited_during(exc, self.deadline)  # a restart before the next invocation, if it died
                return b"".join(pieces)[:size], f" [its body broke off: {exc.detail}]"
            finally:
                # Read to its end: the connection is kept; else it is dropped, the rest of the body unread.
                stream.close()  # type: ignore[attr-defined]
            body = b"".join(pieces)
        return (body[:size], f" [the first {size} bytes of its body]") if len(body) > size else (body, "")

    def call_app(self, invocation: Invocation, request: HttpRequest, kind: Kind,
                 responder: Responder) -> HttpResponse:
        # One deadline for the whole invocation (monotonic): the wait for the app, every read and write.
        deadline = None
        if invocation.deadline_ms:
            deadline = time.monotonic() + max(invocation.deadline_ms / 1000.0 - time.time() - DEADLINE_MARGIN,
                                              0.001)
        self.deadline = deadline
        app = self.app
        if not app.ready:
            not_ready = self.wait_for_app(deadline)
            if not_ready is not None:
                return not_ready
        self.exchange_pid = app.pid
        try:
            return responder.exchange(request, kind, deadline)
        except UpstreamError as exc:
            return self.app_failure(invocation, request, kind, exc, deadline)

    def wait_for_app(self, deadline: float | None) -> HttpResponse | None:
        """Async init left the app starting, it died between invocations, or a restart did not finish:
        start it again if need be, and wait within this invocation."""
        app = self.app
        until = deadline if deadline is not None else time.monotonic() + 3600.0
        try:
            if app.exit_status() is not None:  # died between invocations: this request is not to blame
                self.upstream.close()
                if app.restart(until):
                    return None
                if app.failure:
                    return error_response(502, f"the app is not running and could not be restarted: {app.failure}")
            elif app.wait_ready(until):
                return None
        except AppExited as exc:
            self.log.error("the app exited before it was ready", reason=str(exc))
            self.restart_needed = True
            return error_response(502, f"{exc} before it was ready; restarting it")
        self.log.error("the app is still not ready at the invocation deadline")
        return error_response(504, "the app did not become ready before the invocation deadline")

    def app_pid(self) -> int:
        """The app process of the moment (asked by the upstream at each connect)."""
        return self.app.pid

    def peer_pid(self) -> int:
        """The app process this exchange talks to: the one that listened when its connection was opened (a
        worker can be delayed past a crash and a restart between taking the app's pid and connecting)."""
        return self.upstream.peer_pid or self.exchange_pid

    def app_lives(self) -> bool:
        """Whether the app process this exchange talks to lives on: asked only before a request is sent again."""
        return not self.app.exiting(self.peer_pid())

    def exited_during(self, exc: UpstreamError, deadline: float | None) -> int | None:
        """The exit status of the app this exchange talked to, if it died. A dying app's sockets close just
        before its exit is seen: after a closed or refused connection, an app the kernel marks as exiting is
        waited for (within the deadline: the answer names the crash however loaded the machine), any other a
        moment (a wrapper script exits just after its server); nothing else waits."""
        now = time.monotonic()
        if exc.kind in ("refused", "closed"):
            until = deadline if deadline is not None else now + RESTART_WAIT
            status = self.app.exit_of(self.peer_pid(), min(0.2, until - now), until)
        else:
            status = self.app.exit_of(self.peer_pid(), 0.0, now)
        if status is not None:
            self.restart_needed = True  # before the next invocation, not inside it
        return status

    def app_failure(self, invocation: Invocation, request: HttpRequest, kind: Kind, exc: UpstreamError,
                    deadline: float | None) -> HttpResponse:
        status = _STATUS_FOR.get(exc.kind, 502)
        message = exc.detail
        if exc.kind == "too_large":
            limit = kind.response_limit
            message = (f"the app's response is {'' if exc.exact else 'at least '}{exc.size} bytes; "
                       f"a buffered {kind.name} result can be at most {limit} bytes")
        else:
            exit_status = self.exited_during(exc, deadline)
            if exit_status is not None:
                status = 502
                message = (f"{describe_exit(exit_status)} while handling {request.method} {request.path[:200]} "
                           f"({exc.detail}); restarting it")
        self.log.error("app request failed", request_id=invocation.request_id, status=status, reason=message)
        return error_response(status, message)
