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
from .http import HttpRequest, HttpResponse
from .jsonenc import dumps_ascii, dumps_utf8
from .log import Log
from .rewrite import fix_location, lambda_context, maybe_compress, prepare_request
from .runtime import Invocation, RuntimeClient, RuntimeError_
from .upstream import Upstream, UpstreamError

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any

DEADLINE_MARGIN = 0.1  # seconds kept back to answer 504 ourselves before Lambda kills the sandbox
RESTART_WAIT = 10.0
STREAM_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
STREAM_LIMIT = 200 * 1024 * 1024
_STATUS_FOR = {"refused": 502, "reset": 502, "closed": 502, "garbage": 502, "too_large": 502,
               "timeout": 504, "bad_request": 400}


def error_response(status: int, message: str, reason: str = "") -> HttpResponse:
    body = ("reweb: " + message + "\n").encode()
    return HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8"),
                                 ("Content-Length", str(len(body)))], body, reason)


def encode_json(result: dict[str, Any]) -> bytes:
    # ensure_ascii=False: non-ASCII text costs its UTF-8 bytes, not six bytes per character.
    return dumps_utf8(result).encode("utf-8", "surrogatepass")


class Adapter:
    def __init__(self, settings: Settings, log: Log, runtime_address: str, env_config: dict[str, Any]) -> None:
        self.settings = settings
        self.log = log
        self.runtime_address = runtime_address
        self.env_config = env_config
        self.env_json = dumps_ascii(env_config)  # constant for the life of the process: encoded once
        self.app = App(settings, log)

    def worker(self) -> Worker:
        return Worker(self, RuntimeClient(self.runtime_address), Upstream(self.settings.port))

    def run(self) -> None:
        """Serve invocations forever: in this thread, or in N threads for Managed Instances."""
        count = self.settings.concurrency
        if count == 1:
            self.worker().loop()
            return
        threads = [threading.Thread(target=self.worker().loop, name=f"reweb-worker-{i}", daemon=True)
                   for i in range(count)]
        for thread in threads:
            thread.start()
        self.log.info("workers started", count=count)
        for thread in threads:
            thread.join()


class Worker:
    def __init__(self, adapter: Adapter, runtime: RuntimeClient, upstream: Upstream) -> None:
        self.adapter = adapter
        self.settings = adapter.settings
        self.log = adapter.log
        self.app = adapter.app
        self.runtime = runtime
        self.upstream = upstream
        self.restart_needed = False

    def loop(self) -> None:
        while True:
            invocation = self.runtime.next()
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

    # -- one invocation --------------------------------------------------------------------------------

    def handle(self, invocation: Invocation) -> None:
        settings = self.settings
        started = time.monotonic()
        try:
            event = json.loads(invocation.body)
        except ValueError as exc:
            self.log.error("the event is not JSON", request_id=invocation.request_id, reason=str(exc))
            self.runtime.error(invocation.request_id, "Runtime.InvalidEvent", f"the event is not JSON: {exc}")
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
                                  [("Host", f"127.0.0.1:{settings.port}"), ("Content-Type", "application/json")],
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
        )
        streaming = settings.streaming and kind.prelude is not None
        response = self.call_app(invocation, request, kind, streaming)
        if self.log.debug_enabled:
            self.log.debug("request", request_id=invocation.request_id, kind=kind.name, method=request.method,
                           target=request.target[:200], status=response.status,
                           ms=round((time.monotonic() - started) * 1000, 2))
        if response.status in settings.error_status_codes:
            if response.stream is not None:
                response.stream.close()  # type: ignore[attr-defined]
            self.runtime.error(invocation.request_id, "HttpError",
                               f"the app answered {response.status}, listed in REWEB_ERROR_STATUS_CODES")
            return
        if not kind.http:
            self.send_passthrough(invocation, response)
            return
        fix_location(response, request, settings.port)
        if streaming:
            self.send_streamed(invocation, kind, response)
        else:
            maybe_compress(response, request, force=settings.force_gzip, negotiate=settings.enable_compression)
            self.send_buffered(invocation, kind, response)

    def call_app(self, invocation: Invocation, request: HttpRequest, kind: Kind, streaming: bool) -> HttpResponse:
        timeout = None
        if invocation.deadline_ms:
            timeout = max(invocation.deadline_ms / 1000.0 - time.time() - DEADLINE_MARGIN, 0.001)
        app = self.app
        if not app.ready:
            not_ready = self.wait_for_app(timeout)
            if not_ready is not None:
                return not_ready
            if timeout is not None:
                timeout = max(invocation.deadline_ms / 1000.0 - time.time() - DEADLINE_MARGIN, 0.001)
        limit = None if streaming else kind.response_limit
        try:
            return self.upstream.exchange(request, timeout, limit, stream=streaming)
        except UpstreamError as exc:
            return self.app_failure(invocation, request, kind, exc)

    def wait_for_app(self, timeout: float | None) -> HttpResponse | None:
        """Async init left the app starting, or a restart did not finish: wait within this invocation."""
        until = time.monotonic() + (timeout if timeout is not None else 3600.0)
        try:
            if self.app.exit_status() is not None:
                self.restart_needed = True
                return error_response(502, "the app is not running (" + describe_exit(self.app.exit_status() or 0)
                                      + "); restarting it")
            if self.app.wait_ready(until):
                return None
        except AppExited as exc:
            self.log.error("the app exited before it was ready", reason=str(exc))
            self.restart_needed = True
            return error_response(502, f"{exc} before it was ready; restarting it")
        self.log.error("the app is still not ready at the invocation deadline")
        return error_response(504, "the app did not become ready before the invocation deadline")

    def app_failure(self, invocation: Invocation, request: HttpRequest, kind: Kind,
                    exc: UpstreamError) -> HttpResponse:
        status = _STATUS_FOR.get(exc.kind, 502)
        message = exc.detail
        if exc.kind == "too_large":
            limit = kind.response_limit
            message = (f"the app's response is {'at least ' if exc.size > limit else ''}{exc.size} bytes; "
                       f"a buffered {kind.name} result can be at most {limit} bytes")
        elif exc.kind in ("refused", "reset", "closed"):
            exit_status = self.app.wait_exit(0.2)  # a dying app closes its sockets just before it exits
            if exit_status is not None:
                message = f"{describe_exit(exit_status)} while handling {request.method} {request.path}; restarting it"
                self.restart_needed = True
                self.app.ready = False
        self.log.error("app request failed", request_id=invocation.request_id, status=status, reason=message)
        return error_response(status, message)

    # -- results ---------------------------------------------------------------------------------------

    def send_buffered(self, invocation: Invocation, kind: Kind, response: HttpResponse) -> None:
        if not kind.http:
            self.send_passthrough(invocation, response)
            return
        parts = result_parts(kind, response)
        size = sum(map(len, parts))
        if size > kind.response_limit:
            message = (f"the app's response encodes to {size} bytes; a buffered {kind.name} result can be "
                       f"at most {kind.response_limit} bytes")
            self.log.error("response too large", request_id=invocation.request_id, size=size)
            parts = result_parts(kind, error_response(502, message))
        self.runtime.respond_parts(invocation.request_id, parts)

    def send_passthrough(self, invocation: Invocation, response: HttpResponse) -> None:
        if not 200 <= response.status < 300:
            detail = response.body[:1000].decode("utf-8", "replace")
            self.runtime.error(invocation.request_id, "HttpError",
                               f"{self.settings.pass_through_path} answered {response.status}: {detail}")
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
            self.log.error("stream failed", request_id=invocation.request_id, reason=exc.detail, sent=sent)
            if exc.kind != "too_large" and self.app.wait_exit(0.2) is not None:
                self.restart_needed = True
                self.app.ready = False
            if response.stream is not None:
                response.stream.close()  # type: ignore[attr-defined]
            stream.finish("Runtime.StreamError", exc.detail)
            return
        stream.finish()
