"""The four ways an invocation's result goes back to Lambda, one class each. Worker.responder_for() chooses one
per event kind, once (from the kind and the settings); the responder then decides both how the app's
answer is read (exchange) and how it is sent (send):

  PassThrough  a non-HTTP event (SQS, S3...): the app's body is the result; a failure is an invocation error
  Streaming    REWEB_INVOKE_MODE=response_stream and a source that streams: prelude, 8 NULs, the body as it comes
  Offloading   REWEB_OFFLOAD_BUCKET set: an answer over the source's limit is stored in S3 and redirected to
  Buffered     everything else: one JSON result, a 502 when it does not fit

So `response.stream` has one meaning per responder: the body still to come (Streaming), the rest of a body over
the limit (Offloading); Buffered and PassThrough read whole bodies. Except in one case, whatever the responder:
a status listed in REWEB_ERROR_STATUS_CODES keeps its body unread in `stream` (however large: no limit applies)
and never reaches send(); Worker.error_status reads what the error keeps of it (ERROR_BODY_WAIT seconds at
most) and closes the rest. reweb's own refusals (malformed event, a SnapStart hook's path) are always one
buffered result: Buffered.result().
"""

from __future__ import annotations

from . import events
from .app import describe_exit
from .events.payload import result_parts
from .http import HttpRequest, HttpResponse
from .jsonenc import dumps_utf8
from .rewrite import fix_location, maybe_compress, maybe_compress_stream
from .upstream import UpstreamError

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any

    from .adapter import Worker
    from .events.common import Kind
    from .runtime import Invocation

STREAM_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
STREAM_LIMIT = 200 * 1024 * 1024


def error_response(status: int, message: str, reason: str = "") -> HttpResponse:
    body = ("reweb: " + message + "\n").encode()
    response = HttpResponse(status, [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body)))], body, reason)
    response.origin = "reweb"
    return response


def encode_json(result: dict[str, Any]) -> bytes:
    # ensure_ascii=False: non-ASCII text costs its UTF-8 bytes, not six bytes per character.
    return dumps_utf8(result).encode("utf-8", "surrogatepass")


class Responder:
    """Made once per worker; the invocation's values come as arguments (nothing is allocated per invocation)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.runtime = worker.runtime
        self.upstream = worker.upstream
        self.settings = worker.settings
        self.log = worker.log

    def exchange(self, request: HttpRequest, kind: Kind, deadline: float | None) -> HttpResponse:
        """The app's answer, its body read as send() wants it (here: whole, within the source's limit)."""
        return self.upstream.exchange(request, deadline, kind.response_limit, stream=False)

    def send(self, invocation: Invocation, request: HttpRequest, kind: Kind, response: HttpResponse) -> None:
        raise NotImplementedError


class PassThrough(Responder):
    def send(self, invocation: Invocation, request: HttpRequest, kind: Kind, response: HttpResponse) -> None:
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


class Buffered(Responder):
    def send(self, invocation: Invocation, request: HttpRequest, kind: Kind, response: HttpResponse) -> None:
        settings = self.settings
        fix_location(response, request, settings.port)
        maybe_compress(response, request, force=settings.force_gzip, negotiate=settings.enable_compression)
        self.result(invocation, kind, response, request)

    def result(self, invocation: Invocation, kind: Kind, response: HttpResponse,
               request: HttpRequest | None = None) -> None:
        """One JSON result; a 502 in its place when it encodes to more than the source takes. `request` is
        None for reweb's own answers (never offloaded)."""
        parts = result_parts(kind, response)
        size = sum(map(len, parts))
        if size > kind.response_limit and request is not None:
            parts, size = self.encoded_too_large(invocation, request, kind, response, parts, size)
        if size > kind.response_limit:
            message = (f"the app's response encodes to {size} bytes; a buffered {kind.name} result can be "
                       f"at most {kind.response_limit} bytes")
            self.log.error("response too large", request_id=invocation.request_id, size=size)
            parts = result_parts(kind, error_response(502, message))
        self.runtime.respond_parts(invocation.request_id, parts)

    def encoded_too_large(self, invocation: Invocation, request: HttpRequest, kind: Kind, response: HttpResponse,
                          parts: list[bytes], size: int) -> tuple[list[bytes], int]:
        """A body that fits but whose encoding does not (base64 adds a third): here, left as it is (a 502)."""
        return parts, size


class Streaming(Responder):
    def exchange(self, request: HttpRequest, kind: Kind, deadline: float | None) -> HttpResponse:
        return self.upstream.exchange(request, deadline, None, stream=True)

    def send(self, invocation: Invocation, request: HttpRequest, kind: Kind, response: HttpResponse) -> None:
        assert kind.prelude is not None
        settings = self.settings
        fix_location(response, request, settings.port)
        maybe_compress_stream(response, request, force=settings.force_gzip, negotiate=settings.enable_compression)
        try:
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
                    exit_status = self.worker.exited_during(exc, self.worker.deadline)
                    if exit_status is not None:
                        message = (f"{describe_exit(exit_status)} while streaming its answer ({exc.detail}); "
                                   "restarting it")
                self.log.error("stream failed", request_id=invocation.request_id, reason=message, sent=sent)
                if response.stream is not None:
                    response.stream.close()  # type: ignore[attr-defined]
                stream.finish("Runtime.StreamError", "reweb: " + message)
                return
        except Exception:
            # The Runtime API failed before the app's answer was read to its end: the rest of that answer is on
            # the app connection, which must not carry the next request (an answer whose body was never started
            # is not closed by its stream's close(), which does nothing then).
            self.upstream.close()
            raise
        stream.finish()


class Offloading(Buffered):
    """Buffered, except that an answer over the limit is stored in S3 (docs/offload.md): the app's body is read
    up to the limit, and what is left of a larger one stays in `response.stream`, to be uploaded as it comes."""

    def exchange(self, request: HttpRequest, kind: Kind, deadline: float | None) -> HttpResponse:
        response = self.upstream.exchange(request, deadline, None, stream=True)
        if response.status in self.settings.error_status_codes:
            return response  # an invocation error (Worker.error_status): it reads what it keeps of the body
        return self.read_up_to(response, kind.response_limit)

    def send(self, invocation: Invocation, request: HttpRequest, kind: Kind, response: HttpResponse) -> None:
        settings = self.settings
        fix_location(response, request, settings.port)
        if response.stream is None:  # within the limit: as Buffered
            maybe_compress(response, request, force=settings.force_gzip, negotiate=settings.enable_compression)
            self.result(invocation, kind, response, request)
        else:  # over it: the app's exact bytes, stored
            self.result(invocation, kind, self.offload(invocation, request, kind, response))

    def encoded_too_large(self, invocation: Invocation, request: HttpRequest, kind: Kind, response: HttpResponse,
                          parts: list[bytes], size: int) -> tuple[list[bytes], int]:
        # The body fits but its encoding does not (base64 adds a third): offload it from memory.
        parts = result_parts(kind, self.offload(invocation, request, kind, response))
        return parts, sum(map(len, parts))

    @staticmethod
    def read_up_to(response: HttpResponse, limit: int) -> HttpResponse:
        """The whole body when it is within `limit` (then the response is an ordinary buffered one), else what
        was read so far in `body` and the rest still in `stream`."""
        stream = response.stream
        assert stream is not None
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

        worker = self.worker
        if response.status == 206 and request.method == "GET" and request.header("range") is not None:
            response = self.whole_representation(invocation, request, kind, response)
            if response.origin == "reweb" or (response.status != 200 and response.stream is None):
                return response  # a failure, or the app's own small answer to the request without Range
        if response.status != 200:
            return self.not_offloaded(invocation, kind, response)
        adapter = worker.adapter
        offload = adapter.offload
        if offload is None:
            offload = adapter.offload = Offload(self.settings.offload_bucket, self.settings.offload_expires)
        try:
            redirect, size, notes = offload.store(invocation.request_id, request.method, response, worker.deadline)
        except OffloadError as exc:
            # S3's message can name the account, the role and the bucket: the log has it, the client does not.
            late = isinstance(exc, OffloadTimeout)
            self.log.error("offload failed", request_id=invocation.request_id, bucket=offload.bucket,
                           reason=str(exc) + (" (before the invocation deadline)" if late else ""))
            return error_response(504 if late else 502, "the response could not be stored"
                                  + (" before the invocation deadline" if late else ""))
        except UpstreamError as exc:
            return worker.app_failure(invocation, request, kind, exc, worker.deadline)
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
        worker = self.worker
        if partial.stream is not None:
            partial.stream.close()  # type: ignore[attr-defined]
        headers = [(n, v) for n, v in request.headers if n.lower() not in ("range", "if-range")]
        again = HttpRequest(request.method, request.path, request.query, headers, request.body)
        again.prefix = request.prefix
        self.log.info("a 206 over the limit: asking the app for the whole representation, to store it",
                      request_id=invocation.request_id, range=(request.header("range") or "")[:100],
                      content_range=(partial.header("content-range") or "")[:100])
        try:
            whole = self.upstream.exchange(again, worker.deadline, None, stream=True)
        except UpstreamError as exc:
            return worker.app_failure(invocation, request, kind, exc, worker.deadline)
        if whole.status == 200:
            return whole  # stored whatever its size: the client's Range is answered from the object
        fix_location(whole, request, self.settings.port)
        try:
            return self.read_up_to(whole, kind.response_limit)
        except UpstreamError as exc:
            return worker.app_failure(invocation, request, kind, exc, worker.deadline)

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
