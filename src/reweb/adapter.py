"""Wires the line: Runtime API -> event decode -> rewrites -> the app -> rewrites -> encode -> Runtime API.

One Worker per concurrent invocation slot (AWS_LAMBDA_MAX_CONCURRENCY on Lambda Managed Instances), each with
its own Runtime API connection and its own keep-alive connection to the app.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time

from . import events
from .app import App, AppExited, describe_exit
from .config import Settings
from .events.common import EventError, Kind
from .events.payload import result_parts
from .hookpath import HookPaths
from .http import HttpRequest, HttpResponse
from .jsonenc import dumps_ascii, dumps_utf8
from .log import Log
from .rewrite import fix_location, lambda_context, maybe_compress, maybe_compress_stream, prepare_request
from .runtime import Invocation, RuntimeClient, RuntimeError_
from .upstream import Upstream, UpstreamError

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any

    from .offload import Offload

DEADLINE_MARGIN = 0.1  # seconds kept back to answer 504 ourselves before Lambda kills the sandbox
RESTART_WAIT = 10.0
STREAM_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
STREAM_LIMIT = 200 * 1024 * 1024
ERROR_BODY_KEPT = 64 * 1024  # of the app's body in an invocation error (REWEB_ERROR_STATUS_CODES)
RUNTIME_API_GIVE_UP = 5.0  # seconds of failed /next calls after which the Runtime API is taken to be gone
_STATUS_FOR = {"refused": 502, "closed": 502, "garbage": 502, "too_large": 502, "timeout": 504, "bad_request": 400}


def error_response(status: int, message: str, reason: str = "") -> HttpResponse:
    body = ("reweb: " + message + "\n").encode()
    response = HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body)))], body, reason)
    response.origin = "reweb"
    return response


def encode_json(result: dict[str, Any]) -> bytes:
    # ensure_ascii=False: non-ASCII text costs its UTF-8 bytes, not six bytes per character.
    return dumps_utf8(result).encode("utf-8", "surrogatepass")


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
        settings = self.settings
        return Worker(self, RuntimeClient(self.runtime_address),
                      Upstream(settings.port, settings.host, self.log, settings.pool_idle_timeout))

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
            threading.Thread(target=serve, args=(self.worker(),), name=f"reweb-worker-{i}", daemon=True).start()
        self.log.info("workers started", count=count)
        gone.wait()
        return 1


class Worker:
    def __init__(self, adapter: Adapter, runtime: RuntimeClient, upstream: Upstream) -> None:
        self.adapter = adapter
        self.settings = adapter.settings
        self.log = adapter.log
        self.app = adapter.app
        self.runtime = runtime
        self.upstream = upstream
        self.restart_needed = False
        self.deadline: float | None = None  # of the current invocation, monotonic
        self.exchange_pid = 0  # the app process the current exchange talks to (another may replace it meanwhile)

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
                with contextlib.suppress(Exception):
                    self.runtime.error(invocation.request_id, "Runtime.AdapterError", f"{type(exc).__name__}: {exc}")
            if self.restart_needed:
                self.restart_needed = False
                self.upstream.close()
                self.app.restart(time.monotonic() + RESTART_WAIT)
            elif breathing_room:
                time.sleep(breathing_room)  # the app's after-answer work runs now, not at the next thaw

    # -- one invocation --------------------------------------------------------------------------------

    def handle(self, invocation: Invocation) -> None:
        settings = self.settings
        started = time.monotonic()
        try:
            event = json.loads(invocation.body)
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
                self.send_buffered(invocation, kind, error_response(400, f"malformed {kind.name} event: {exc}"))
                return
            context = event.get("requestContext")
            # The body now lives in request.body: drop the event's copies (a 6 MB request would keep three).
            invocation.body = b""
            event.pop("body", None)
        else:
            request = HttpRequest("POST", settings.pass_through_path, "",
                                  [("Host", self.adapter.app_authority), ("Content-Type", "application/json")],
                                  invocation.body)
            context = None
        request = prepare_request(
            request,
            request_context=context,
            lambda_ctx=lambda_context(
                invocation.request_id, invocation.deadline_ms, invocation.function_arn, invocation.trace_id,
                invocation.client_context, invocation.cognito_identity, self.adapter.env_json),
            trace_id=invocation.trace_id,
            authorization_source=settings.authorization_source,
            base_path=settings.remove_base_path if kind.http else "",
            tenant_id=invocation.tenant_id,
        )
        streaming = settings.streaming and kind.prelude is not None
        if self.adapter.hook_keys and kind.http and self.adapter.hook_keys.refuses(request.path):
            self.log.warn("a request for a SnapStart hook's path was refused", request_id=invocation.request_id,
                          path=request.path[:200])
            self.send_buffered(invocation, kind, error_response(403, "this path is reserved for SnapStart hooks"))
            return
        response = self.call_app(invocation, request, kind, streaming)
        if self.log.debug_enabled:
            self.log.debug("request", request_id=invocation.request_id, kind=kind.name, method=request.method,
                           target=request.target[:200], status=response.status,
                           ms=round((time.monotonic() - started) * 1000, 2))
        if response.status in settings.error_status_codes:
            if response.stream is not None:
                response.stream.close()  # type: ignore[attr-defined]
            # The app's body is kept in the message (LWA #668: without it the error says nothing of why).
            body = response.body[:ERROR_BODY_KEPT].decode("utf-8", "replace")
            self.runtime.error(invocation.request_id, "HttpError",
                               f"the app answered {response.status}, listed in REWEB_ERROR_STATUS_CODES: {body}"
                               if response.origin == "app" else body.strip())
            return
        if not kind.http:
            self.send_passthrough(invocation, response)
            return
        fix_location(response, request, settings.port)
        if streaming:
            maybe_compress_stream(response, request, force=settings.force_gzip, negotiate=settings.enable_compression)
            self.send_streamed(invocation, kind, response)
        elif response.stream is not None:  # over the limit and REWEB_OFFLOAD_BUCKET is set: the app's exact bytes
            self.send_buffered(invocation, kind, self.offload(invocation, request, kind, response))
        else:
            maybe_compress(response, request, force=settings.force_gzip, negotiate=settings.enable_compression)
            self.send_buffered(invocation, kind, response, request)

    def call_app(self, invocation: Invocation, request: HttpRequest, kind: Kind, streaming: bool) -> HttpResponse:
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
        limit = None if streaming else kind.response_limit
        try:
            # Offload is for HTTP answers only: a non-HTTP event's answer goes to its invoker, not to a browser.
            if self.settings.offload_bucket and not streaming and kind.http:
                return self.read_up_to(self.upstream.exchange(request, deadline, None, stream=True), limit)
            return self.upstream.exchange(request, deadline, limit, stream=streaming)
        except UpstreamError as exc:
            return self.app_failure(invocation, request, kind, exc, deadline)

    @staticmethod
    def read_up_to(response: HttpResponse, limit: int | None) -> HttpResponse:
        """With offload on: the whole body when it is within `limit` (then the response is an ordinary buffered
        one), else what was read so far in `body` and the rest still in `stream`, to be uploaded as it comes."""
        stream = response.stream
        assert stream is not None and limit is not None
        pieces: list[bytes] = []
        size = 0
        for chunk in stream:
            pieces.append(chunk)
            size += len(chunk)
            if size > limit:
                response.body = b"".join(pieces)
                return response
        response.body, response.stream = b"".join(pieces), None
        return response

    def offload(self, invocation: Invocation, request: HttpRequest, kind: Kind,
                response: HttpResponse) -> HttpResponse:
        """An answer over the limit, stored in S3: a redirect to its presigned URL, or the answer that says why
        it is not (docs/offload.md). Only a 200 is stored: a redirect turns any status into the object's 200.
        A 206 too large for the limit is asked for again without Range, so that the object is the whole
        representation and S3 answers the Range the client sends again on the redirect."""
        from .offload import Offload, OffloadError, OffloadTimeout

        if response.status == 206 and request.method == "GET" and request.header("range") is not None:
            response = self.whole_representation(invocation, request, kind, response)
            if response.origin == "reweb" or (response.status != 200 and response.stream is None):
                return response  # a failure, or the app's own small answer to the request without Range
        if response.status != 200:
            return self.not_offloaded(invocation, kind, response)
        offload = self.adapter.offload
        if offload is None:
            offload = self.adapter.offload = Offload(self.settings.offload_bucket, self.settings.offload_expires)
        try:
            redirect, size, notes = offload.store(invocation.request_id, request.method, response, self.deadline)
        except OffloadError as exc:
            # S3's message can name the account, the role and the bucket: the log has it, the client does not.
            late = isinstance(exc, OffloadTimeout)
            self.log.error("offload failed", request_id=invocation.request_id, bucket=offload.bucket,
                           reason=str(exc) + (" (before the invocation deadline)" if late else ""))
            return error_response(504 if late else 502, "the response could not be stored"
                                  + (" before the invocation deadline" if late else ""))
        except UpstreamError as exc:
            return self.app_failure(invocation, request, kind, exc, self.deadline)
        except Exception as exc:  # a case not foreseen above: the client still gets a precise answer
            self.log.error("offload failed", request_id=invocation.request_id, bucket=offload.bucket,
                           reason=f"{type(exc).__name__}: {exc}")
            return error_response(502, "the response could not be stored")
        for note in notes:
            self.log.warn(note, request_id=invocation.request_id)
        self.log.info("response offloaded to S3", request_id=invocation.request_id, bucket=offload.bucket,
                      key=offload.prefix + invocation.request_id, bytes=size, status=redirect.status)
        return redirect

    def whole_representation(self, invocation: Invocation, request: HttpRequest, kind: Kind,
                             partial: HttpResponse) -> HttpResponse:
        """The app's answer to the same GET without Range and If-Range: a GET is safe to repeat (RFC 9110
        9.2.1), and the whole representation is what S3 needs to answer the client's Range itself. The cost:
        the app makes, and S3 stores, the whole representation for such a range (logged)."""
        if partial.stream is not None:
            partial.stream.close()  # type: ignore[attr-defined]
        headers = [(n, v) for n, v in request.headers if n.lower() not in ("range", "if-range")]
        again = HttpRequest(request.method, request.path, request.query, headers, request.body)
        again.prefix = request.prefix
        self.log.info("a 206 over the limit: asking the app for the whole representation, to store it",
                      request_id=invocation.request_id, range=(request.header("range") or "")[:100],
                      content_range=(partial.header("content-range") or "")[:100])
        try:
            whole = self.upstream.exchange(again, self.deadline, None, stream=True)
        except UpstreamError as exc:
            return self.app_failure(invocation, request, kind, exc, self.deadline)
        if whole.status == 200:
            return whole  # stored whatever its size: the client's Range is answered from the object
        fix_location(whole, request, self.settings.port)
        try:
            return self.read_up_to(whole, kind.response_limit)
        except UpstreamError as exc:
            return self.app_failure(invocation, request, kind, exc, self.deadline)

    def not_offloaded(self, invocation: Invocation, kind: Kind, response: HttpResponse) -> HttpResponse:
        """An answer over the limit whose status a redirect would change. A 3xx, 4xx or 5xx keeps its status
        and headers (they are its meaning: not found, moved, retry later) with a short body of reweb's in place
        of its own; any other status (201, 203...: the body is the answer) is a 502 naming the size."""
        from .offload import REPRESENTATION

        if response.stream is not None:
            response.stream.close()  # type: ignore[attr-defined]
        length = response.header("content-length") or ""
        size = (f"{length}-byte" if length.isdigit() else
                f"{len(response.body)}-byte" if response.stream is None else f"more than {kind.response_limit}-byte")
        limit = f"the {kind.response_limit}-byte limit of a buffered {kind.name} result"
        self.log.error("response over the limit not offloaded (only a 200 is stored in S3)",
                       request_id=invocation.request_id, status=response.status, size=size.partition("-")[0])
        if not 300 <= response.status < 600:
            return error_response(502, f"the app's {size} {response.status} answer does not fit {limit}, and only "
                                       "a 200 answer is stored in S3 (a redirect would change its status)")
        body = (f"reweb: the app's {size} answer does not fit {limit}; its status and headers are passed on, "
                "its body is not\n").encode()
        headers = [(n, v) for n, v in response.headers if n.lower() not in REPRESENTATION]
        headers += [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        placeholder = HttpResponse(response.status, headers, body, response.reason)
        placeholder.origin = "reweb"
        return placeholder

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

    def exited_during(self, exc: UpstreamError, deadline: float | None) -> int | None:
        """The exit status of the app this exchange talked to, if it died. A dying app's sockets close just
        before its exit is seen: after a closed or refused connection, an app the kernel marks as exiting is
        waited for (within the deadline: the answer names the crash however loaded the machine), any other a
        moment (a wrapper script exits just after its server); nothing else waits."""
        now = time.monotonic()
        if exc.kind in ("refused", "closed"):
            until = deadline if deadline is not None else now + RESTART_WAIT
            status = self.app.exit_of(self.exchange_pid, min(0.2, until - now), until)
        else:
            status = self.app.exit_of(self.exchange_pid, 0.0, now)
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

    # -- results ---------------------------------------------------------------------------------------

    def send_buffered(self, invocation: Invocation, kind: Kind, response: HttpResponse,
                      request: HttpRequest | None = None) -> None:
        if not kind.http:
            self.send_passthrough(invocation, response)
            return
        parts = result_parts(kind, response)
        size = sum(map(len, parts))
        if size > kind.response_limit and request is not None and self.settings.offload_bucket:
            # The body fits but its encoding does not (base64 adds a third): offload it from memory.
            parts = result_parts(kind, self.offload(invocation, request, kind, response))
            size = sum(map(len, parts))
        if size > kind.response_limit:
            message = (f"the app's response encodes to {size} bytes; a buffered {kind.name} result can be "
                       f"at most {kind.response_limit} bytes")
            self.log.error("response too large", request_id=invocation.request_id, size=size)
            parts = result_parts(kind, error_response(502, message))
        self.runtime.respond_parts(invocation.request_id, parts)

    def send_passthrough(self, invocation: Invocation, response: HttpResponse) -> None:
        if response.origin == "reweb":  # reweb's own verdict, not something the app said
            self.runtime.error(invocation.request_id, "Runtime.AppFailure",
                               response.body[:1000].decode("utf-8", "replace").strip())
            return
        if not 200 <= response.status < 300:
            detail = response.body[:1000].decode("utf-8", "replace")
            self.runtime.error(invocation.request_id, "HttpError",
                               f"the app answered {response.status} at {self.settings.pass_through_path}: {detail}")
            return
        if len(response.body) > events.LAMBDA_LIMIT:
            self.runtime.error(invocation.request_id, "Runtime.ResponseTooLarge",
                               f"the app's answer is {len(response.body)} bytes, over {events.LAMBDA_LIMIT}")
            return
        self.runtime.respond(invocation.request_id, response.body or b"null")

    def send_streamed(self, invocation: Invocation, kind: Kind, response: HttpResponse) -> None:
        assert kind.prelude is not None
        stream = self.runtime.stream(invocation.request_id, STREAM_CONTENT_TYPE)
        stream.write(encode_json(kind.prelude(response)) + b"\0" * 8)
        sent = 0
        try:
            for chunk in response.chunks():
                sent += len(chunk)
                if sent > STREAM_LIMIT:
                    raise UpstreamError("too_large", f"streamed response passed {STREAM_LIMIT} bytes", sent)
                stream.write(chunk)
        except UpstreamError as exc:
            message = exc.detail
            if exc.kind != "too_large":
                exit_status = self.exited_during(exc, self.deadline)
                if exit_status is not None:
                    message = f"{describe_exit(exit_status)} while streaming its answer ({exc.detail}); restarting it"
            self.log.error("stream failed", request_id=invocation.request_id, reason=message, sent=sent)
            if response.stream is not None:
                response.stream.close()  # type: ignore[attr-defined]
            stream.finish("Runtime.StreamError", "reweb: " + message)
            return
        stream.finish()
