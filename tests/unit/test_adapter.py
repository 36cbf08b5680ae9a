"""reweb.adapter without sockets: a Worker between a recording Runtime API client and a scripted app connection.

Each result path (buffered, offloaded, streamed, passed through, refused, an invocation error) is decided here in
microseconds; tests/integration checks the same paths through the real RIE and real apps.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from unit_helpers import load

from reweb import events
from reweb.adapter import ERROR_BODY_KEPT, Adapter, Worker
from reweb.config import Settings
from reweb.http import HttpRequest, HttpResponse
from reweb.log import Log
from reweb.responders import STREAM_CONTENT_TYPE, STREAM_LIMIT
from reweb.runtime import Invocation
from reweb.upstream import UpstreamError

HTTP_API_EVENT = "apigw-http-v2/golang-http-v2-no-authorizer-curl.json"
APP = {"application_exec": "app"}


class FakeStream:
    def __init__(self, calls: list[tuple[Any, ...]], content_type: str) -> None:
        self.calls = calls
        self.calls.append(("stream", content_type))
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def finish(self, error_type: str = "", error_message: str = "") -> None:
        self.calls.append(("finish", bytes(self.data), error_type, error_message))


class FakeRuntime:
    """Records what the Worker told the Runtime API, as ("kind", ...) tuples."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def respond(self, request_id: str, payload: bytes) -> None:
        self.calls.append(("respond", payload))

    def respond_parts(self, request_id: str, parts: list[bytes]) -> None:
        self.calls.append(("result", json.loads(b"".join(parts))))

    def error(self, request_id: str, error_type: str, message: str) -> None:
        self.calls.append(("error", error_type, message))

    def stream(self, request_id: str, content_type: str) -> FakeStream:
        return FakeStream(self.calls, content_type)


class Closing:
    """An app's body still to come, which knows whether it was closed (the app's connection is then free)."""

    def __init__(self, chunks: list[bytes], fail: UpstreamError | None = None) -> None:
        self.chunks = iter(chunks)
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = next(self.chunks, None)
        if chunk is None:
            if self.fail is not None:
                raise self.fail
            raise StopIteration
        return chunk

    def close(self) -> None:
        self.closed = True


class FakeUpstream:
    """Answers every exchange with `answer(request)`, honouring `limit`, `stream` and `stream_statuses` as
    Upstream does (worker() sets the last from the settings, as Worker does for its own Upstream)."""

    def __init__(self, answer: Callable[[HttpRequest], tuple[int, list[tuple[str, str]], list[bytes]]]) -> None:
        self.answer = answer
        self.stream_statuses: frozenset[int] = frozenset()
        self.peer_pid = 0  # as Upstream's: no connection, so the exchange's app is the one of the moment
        self.requests: list[tuple[HttpRequest, int | None, bool]] = []
        self.streams: list[Closing] = []
        self.closed = 0  # close() calls: the connection dropped

    def exchange(self, request: HttpRequest, deadline: float | None, limit: int | None,
                 stream: bool = False) -> HttpResponse:
        self.requests.append((request, limit, stream))
        status, headers, chunks = self.answer(request)
        if isinstance(chunks, UpstreamError):
            raise chunks
        if stream or status in self.stream_statuses:
            rest = Closing(chunks)
            self.streams.append(rest)
            return HttpResponse(status, headers, b"", "", rest)
        body = b"".join(chunks)
        if limit is not None and len(body) > limit:
            raise UpstreamError("too_large", "too large", len(body), exact=True)
        return HttpResponse(status, headers, body)

    def close(self) -> None:
        self.closed += 1

    def hurry(self, until: float) -> bool:
        return True  # its streams never wait


class FakeApp:
    ready = True
    pid = 4242

    def exit_of(self, pid: int, wait: float, until: float) -> int | None:
        return None


class FakeOffload:
    bucket = "bucket"
    prefix = ""

    def __init__(self) -> None:
        self.stored: list[tuple[str, int, bytes]] = []

    def store(self, name: str, method: str, response: HttpResponse,
              deadline: float | None) -> tuple[HttpResponse, int, list[str]]:
        data = b"".join(response.chunks())
        self.stored.append((method, response.status, data))
        redirect = HttpResponse(307 if method == "GET" else 303, [("Location", "https://s3/x")], b"")
        redirect.origin = "reweb"
        return redirect, len(data), []


def worker(answer: Callable[[HttpRequest], Any] | None = None, **settings: Any) -> tuple[Worker, FakeRuntime,
                                                                                           FakeUpstream]:
    runtime, upstream = FakeRuntime(), FakeUpstream(answer or (lambda r: (200, [("Content-Type", "text/plain")],
                                                                          [b"hello"])))
    adapter = Adapter(Settings(**{**APP, **settings}), Log("FATAL"), "127.0.0.1:9", {}, app=FakeApp())  # type: ignore[arg-type]
    upstream.stream_statuses = adapter.settings.error_status_codes
    return Worker(adapter, runtime, upstream), runtime, upstream  # type: ignore[arg-type]


def invocation(event: dict[str, Any] | bytes) -> Invocation:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return Invocation("req-1", int(time.time() * 1000) + 60_000, "arn", "", "", "", "", body)


def http_api(path: str = "/", method: str = "GET", headers: dict[str, str] | None = None) -> dict[str, Any]:
    event = load(HTTP_API_EVENT)
    event["rawPath"], event["requestContext"]["http"]["method"] = path, method
    event["rawQueryString"] = ""
    event["headers"] = {"host": "example.com", **(headers or {})}
    event.pop("body", None)
    event["isBase64Encoded"] = False
    return event


def result_body(call: tuple[Any, ...]) -> bytes:
    assert call[0] == "result", call
    result = call[1]
    body = result.get("body") or ""
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()


# -- buffered --------------------------------------------------------------------------------------------------


def test_a_buffered_answer_is_one_result() -> None:
    w, runtime, upstream = worker()
    w.handle(invocation(http_api("/hi")))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 200 and result_body(call) == b"hello"
    [(request, limit, stream)] = upstream.requests
    assert request.path == "/hi" and limit == events.LAMBDA_LIMIT and not stream


def test_a_buffered_answer_is_compressed_when_the_client_accepts_gzip() -> None:
    big = b"a" * 4000
    w, runtime, _ = worker(lambda r: (200, [("Content-Type", "text/plain")], [big]), enable_compression=True)
    w.handle(invocation(http_api(headers={"accept-encoding": "gzip"})))
    [call] = runtime.calls
    import gzip

    assert call[1]["headers"].get("content-encoding") == "gzip" and gzip.decompress(result_body(call)) == big


def test_an_answer_over_the_limit_without_offload_is_a_502_naming_the_size() -> None:
    w, runtime, _ = worker(lambda r: (200, [], [b"x" * (events.LAMBDA_LIMIT + 1)]))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 502 and b"6291457 bytes" in result_body(call)


def test_a_body_that_fits_but_whose_encoding_does_not_is_a_502() -> None:
    body = bytes(range(256)) * (events.LAMBDA_LIMIT // 256 - 1)  # binary: base64 adds a third
    w, runtime, _ = worker(lambda r: (200, [("Content-Type", "application/octet-stream")], [body]))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 502 and b"encodes to" in result_body(call)


def test_a_location_to_the_app_itself_becomes_the_public_url() -> None:
    w, runtime, _ = worker(lambda r: (302, [("Location", "http://127.0.0.1:8080/next")], []))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 302 and call[1]["headers"]["location"] == "https://example.com/next"


# -- refusals and invocation errors ----------------------------------------------------------------------------


def test_an_event_that_is_not_json_is_an_invocation_error() -> None:
    w, runtime, upstream = worker()
    w.handle(invocation(b"{not json"))
    [call] = runtime.calls
    assert call[:2] == ("error", "Runtime.InvalidEvent") and not upstream.requests


def test_a_malformed_http_event_is_a_400_and_the_app_is_not_called() -> None:
    event = http_api()
    event["requestContext"]["http"]["method"] = 7
    w, runtime, upstream = worker()
    w.handle(invocation(event))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 400 and b"malformed http-api event" in result_body(call)
    assert not upstream.requests


@pytest.mark.parametrize("invoke_mode", ["buffered", "response_stream"])
def test_a_hook_path_is_refused_with_a_buffered_403_in_either_mode(invoke_mode: str) -> None:
    w, runtime, upstream = worker(snapstart_before_checkpoint_path="/__hook", invoke_mode=invoke_mode)
    w.handle(invocation(http_api("/__hook")))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 403 and not upstream.requests


@pytest.mark.parametrize("invoke_mode", ["buffered", "response_stream"])
def test_a_listed_error_status_is_an_invocation_error_with_the_apps_body(invoke_mode: str) -> None:
    w, runtime, upstream = worker(lambda r: (503, [], [b"db down"]), error_status_codes=frozenset({503}),
                                  invoke_mode=invoke_mode)
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[:2] == ("error", "HttpError") and "503" in call[2]
    assert call[2].endswith(": db down")  # streamed too: the body is read for the error, nothing is streamed
    assert all(s.closed for s in upstream.streams)


@pytest.mark.parametrize("mode", ["buffered", "response_stream", "offload"])
def test_a_listed_error_status_keeps_the_first_64_kb_of_the_apps_body(mode: str) -> None:
    pieces = [b"%05d " % i * 1000 for i in range(20)]  # 120 KB in 6 KB pieces
    w, runtime, upstream = worker(lambda r: (500, [], pieces), error_status_codes=frozenset({500}),
                                  **({"offload_bucket": "bucket"} if mode == "offload" else {"invoke_mode": mode}))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    kept = b"".join(pieces)[:ERROR_BODY_KEPT].decode()
    assert call[:2] == ("error", "HttpError")
    assert call[2].endswith(f": {kept} [the first {ERROR_BODY_KEPT} bytes of its body]")
    [stream] = upstream.streams  # read no further than needed, then closed, in every mode
    assert stream.closed and next(stream, None) is not None


@pytest.mark.parametrize("mode", ["buffered", "offload"])
def test_a_listed_error_status_over_the_buffered_limit_is_the_same_error(mode: str) -> None:
    pieces = [b"x" * 1024 * 1024] * 7  # 7 MB: over the 6 MB of a buffered result, yet no 502 of reweb's
    w, runtime, upstream = worker(lambda r: (500, [], pieces), error_status_codes=frozenset({500, 502}),
                                  **({"offload_bucket": "bucket"} if mode == "offload" else {}))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call == ("error", "HttpError", "the app answered 500, listed in REWEB_ERROR_STATUS_CODES: "
                    f"{'x' * ERROR_BODY_KEPT} [the first {ERROR_BODY_KEPT} bytes of its body]")
    [stream] = upstream.streams
    assert stream.closed and next(stream, None) is not None


def test_a_streamed_error_body_that_breaks_off_keeps_what_came() -> None:
    class Breaking(FakeUpstream):
        def exchange(self, request: HttpRequest, deadline: float | None, limit: int | None,
                     stream: bool = False) -> HttpResponse:
            rest = Closing([b"half of ", b"it"], UpstreamError("closed", "the app closed the connection"))
            self.streams.append(rest)
            return HttpResponse(502, [], b"", "", rest)

    w, runtime, _ = worker(error_status_codes=frozenset({502}), invoke_mode="response_stream")
    upstream = Breaking(lambda r: (0, [], []))
    w.streaming.upstream = upstream  # type: ignore[assignment]  # a fake with the Upstream methods Worker calls
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[:2] == ("error", "HttpError")
    assert call[2].endswith(": half of it [its body broke off: the app closed the connection]")
    assert upstream.streams[0].closed


def test_an_app_that_refuses_the_connection_is_a_502() -> None:
    w, runtime, _ = worker(lambda r: (0, [], UpstreamError("refused", "the app refused the connection")))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 502 and b"refused" in result_body(call)


# -- pass-through ----------------------------------------------------------------------------------------------


def test_a_non_http_event_is_posted_and_the_apps_body_is_the_result() -> None:
    w, runtime, upstream = worker(lambda r: (200, [], [b'{"ok":true}']), offload_bucket="bucket")
    w.handle(invocation({"Records": [{"eventSource": "aws:sqs"}]}))
    assert runtime.calls == [("respond", b'{"ok":true}')]
    [(request, limit, stream)] = upstream.requests
    assert (request.method, request.path, limit, stream) == ("POST", "/events", events.LAMBDA_LIMIT, False)


@pytest.mark.parametrize(("status", "body", "error_type"), [
    (500, b"boom", "HttpError"),
    (0, UpstreamError("timeout", "the app did not answer"), "Runtime.AppFailure"),
])
def test_a_non_http_failure_is_an_invocation_error(status: int, body: Any, error_type: str) -> None:
    w, runtime, _ = worker(lambda r: (status, [], body if isinstance(body, UpstreamError) else [body]))
    w.handle(invocation({"Records": []}))
    [call] = runtime.calls
    assert call[:2] == ("error", error_type)


def test_an_empty_non_http_answer_is_null() -> None:
    w, runtime, _ = worker(lambda r: (204, [], []))
    w.handle(invocation({"Records": []}))
    assert runtime.calls == [("respond", b"null")]


# -- streaming -------------------------------------------------------------------------------------------------


def test_a_streamed_answer_is_the_prelude_eight_nuls_and_the_body() -> None:
    w, runtime, upstream = worker(lambda r: (200, [("Content-Type", "text/plain")], [b"a", b"b"]),
                                  invoke_mode="response_stream")
    w.handle(invocation(http_api()))
    assert runtime.calls[0] == ("stream", STREAM_CONTENT_TYPE)
    _, data, error_type, _ = runtime.calls[1]
    prelude, _, body = data.partition(b"\0" * 8)
    assert json.loads(prelude)["statusCode"] == 200 and body == b"ab" and error_type == ""
    assert upstream.requests[0][1:] == (None, True)


def test_a_stream_that_fails_midway_ends_with_the_error_trailer() -> None:
    def answer(request: HttpRequest) -> Any:
        return 200, [], [b"first"]

    w, runtime, upstream = worker(answer, invoke_mode="response_stream")
    original = upstream.exchange

    def failing(request: HttpRequest, deadline: float | None, limit: int | None, stream: bool = False) -> Any:
        response = original(request, deadline, limit, stream)
        response.stream = Closing([b"first"], UpstreamError("closed", "the app closed the connection"))
        return response

    upstream.exchange = failing  # type: ignore[method-assign]
    w.handle(invocation(http_api()))
    _, data, error_type, message = runtime.calls[-1]
    assert data.endswith(b"first") and error_type == "Runtime.StreamError" and "closed" in message


def test_a_stream_over_200_mb_is_cut_with_the_error_trailer() -> None:
    chunk = b"x" * (8 * 1024 * 1024)
    count = STREAM_LIMIT // len(chunk) + 1
    w, runtime, _ = worker(lambda r: (200, [], [chunk] * count), invoke_mode="response_stream")
    sent: list[int] = []
    original = FakeStream.write

    def counting(self: FakeStream, data: bytes) -> None:  # keep memory small: count, do not keep
        sent.append(len(data))

    FakeStream.write = counting  # type: ignore[method-assign]
    try:
        w.handle(invocation(http_api()))
    finally:
        FakeStream.write = original  # type: ignore[method-assign]
    _, _, error_type, message = runtime.calls[-1]
    assert error_type == "Runtime.StreamError" and str(STREAM_LIMIT) in message
    assert sum(sent[1:]) <= STREAM_LIMIT


def test_a_source_that_cannot_stream_is_answered_buffered_in_streaming_mode() -> None:
    event = load("alb-single/" + sorted(p.name for p in (events_dir() / "alb-single").glob("*.json"))[0])
    w, runtime, upstream = worker(invoke_mode="response_stream")
    w.handle(invocation(event))
    [call] = runtime.calls
    assert call[0] == "result" and upstream.requests[0][1:] == (events.ALB_LIMIT, False)


def events_dir() -> Path:
    from tests.support.paths import FIXTURES

    return FIXTURES


# -- offload ---------------------------------------------------------------------------------------------------


def offloading(answer: Callable[[HttpRequest], Any]) -> tuple[Worker, FakeRuntime, FakeUpstream, FakeOffload]:
    w, runtime, upstream = worker(answer, offload_bucket="bucket")
    w.adapter.offload = offload = FakeOffload()  # type: ignore[assignment]
    return w, runtime, upstream, offload


def test_with_offload_an_answer_within_the_limit_is_an_ordinary_result() -> None:
    w, runtime, upstream, offload = offloading(lambda r: (200, [], [b"small"]))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert result_body(call) == b"small" and not offload.stored
    assert upstream.requests[0][1:] == (None, True)


def test_with_offload_a_200_over_the_limit_is_stored_and_redirected() -> None:
    body = [b"y" * events.MB] * 7
    w, runtime, _, offload = offloading(lambda r: (200, [], body))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 307 and offload.stored == [("GET", 200, b"".join(body))]


def test_with_offload_a_body_whose_encoding_is_too_large_is_stored_from_memory() -> None:
    body = bytes(range(256)) * (events.LAMBDA_LIMIT // 256 - 1)
    w, runtime, _, offload = offloading(lambda r: (200, [("Content-Type", "application/octet-stream")], [body]))
    w.handle(invocation(http_api(method="POST")))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 303 and offload.stored == [("POST", 200, body)]


def test_with_offload_a_404_over_the_limit_keeps_its_status_and_headers_not_its_body() -> None:
    w, runtime, upstream, offload = offloading(lambda r: (404, [("X-Why", "gone"), ("Content-Type", "text/html")],
                                                          [b"z" * (events.LAMBDA_LIMIT + 1)]))
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 404 and call[1]["headers"]["x-why"] == "gone"
    assert b"its status and headers are passed on" in result_body(call) and not offload.stored
    assert upstream.streams[0].closed


def test_with_offload_a_201_over_the_limit_is_a_502() -> None:
    w, runtime, _, offload = offloading(lambda r: (201, [], [b"z" * (events.LAMBDA_LIMIT + 1)]))
    w.handle(invocation(http_api(method="POST")))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 502 and b"only a 200 answer is stored" in result_body(call)
    assert not offload.stored


def test_with_offload_a_206_over_the_limit_stores_the_whole_representation() -> None:
    whole = b"w" * (events.LAMBDA_LIMIT + 10)

    def answer(request: HttpRequest) -> Any:
        if request.header("range"):
            return 206, [("Content-Range", f"bytes 0-{len(whole) - 2}/{len(whole)}")], [whole[:-1]]
        return 200, [], [whole]

    w, runtime, upstream, offload = offloading(answer)
    w.handle(invocation(http_api(headers={"range": "bytes=0-", "if-range": '"e"'})))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 307 and offload.stored == [("GET", 200, whole)]
    again = upstream.requests[1][0]
    assert again.header("range") is None and again.header("if-range") is None


def test_with_offload_an_unforeseen_store_failure_is_a_502() -> None:
    w, runtime, _, offload = offloading(lambda r: (200, [], [b"v" * (events.LAMBDA_LIMIT + 1)]))

    def broken(name: str, method: str, response: HttpResponse,
               deadline: float | None) -> tuple[HttpResponse, int, list[str]]:
        raise KeyError("surprise")

    offload.store = broken  # type: ignore[method-assign]
    w.handle(invocation(http_api()))
    [call] = runtime.calls
    assert call[1]["statusCode"] == 502 and b"could not be stored" in result_body(call)


# -- the deadline ----------------------------------------------------------------------------------------------


def test_the_exchange_gets_the_invocations_deadline_less_the_margin() -> None:
    seen: list[float | None] = []
    w, _, upstream = worker()
    original = upstream.exchange

    def recording(request: HttpRequest, deadline: float | None, limit: int | None, stream: bool = False) -> Any:
        seen.append(deadline)
        return original(request, deadline, limit, stream)

    upstream.exchange = recording  # type: ignore[method-assign]
    before = time.monotonic()
    w.handle(invocation(http_api()))
    [deadline] = seen
    assert deadline is not None and before + 59 < deadline < time.monotonic() + 60
    assert w.deadline == deadline



# -- where the result path is chosen ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "settings", "chosen"), [
    (events.HTTP_API, {}, "Buffered"),
    (events.HTTP_API, {"offload_bucket": "bucket"}, "Offloading"),
    (events.HTTP_API, {"invoke_mode": "response_stream", "offload_bucket": "bucket"}, "Streaming"),
    (events.REST, {"invoke_mode": "response_stream"}, "Streaming"),
    (events.ALB, {"invoke_mode": "response_stream"}, "Buffered"),  # ALB does not stream
    (events.ALB_MULTI, {"invoke_mode": "response_stream", "offload_bucket": "bucket"}, "Offloading"),
    (events.LATTICE_V2, {"invoke_mode": "response_stream"}, "Buffered"),
    (events.PASSTHROUGH, {"invoke_mode": "response_stream", "offload_bucket": "bucket"}, "PassThrough"),
])
def test_one_responder_per_kind_is_chosen_when_the_worker_starts(kind: Any, settings: dict[str, Any],
                                                                  chosen: str) -> None:
    w, _, _ = worker(**settings)
    assert type(w.responders[kind]).__name__ == chosen
    assert set(w.responders) == set(events.KINDS)


def test_a_workers_connection_to_the_app_is_made_with_that_worker_as_its_app_view() -> None:
    adapter = Adapter(Settings(**APP), Log("FATAL"), "127.0.0.1:9", {}, app=FakeApp())  # type: ignore[arg-type]
    w = adapter.worker()
    assert w.upstream.view is w and w.upstream.view.app_pid() == FakeApp.pid
    assert w.streaming.upstream is w.upstream and w.buffered.upstream is w.upstream


@pytest.mark.parametrize("fails_at", [0, 1])
def test_a_stream_the_runtime_api_breaks_off_leaves_no_unread_answer_on_the_app_connection(fails_at: int) -> None:
    """The Runtime API fails at the prelude (the app's body not started) or at the first chunk: the exception goes
    up to the worker's loop, and the app connection, with the rest of the app's answer on it, is dropped."""
    class Failing(FakeStream):
        def write(self, data: bytes) -> None:
            if len(self.calls) > fails_at:
                raise OSError("the Runtime API went away")
            self.calls.append(("write", data))

    w, runtime, upstream = worker(lambda r: (200, [], [b"one", b"two"]), invoke_mode="response_stream")
    runtime.stream = lambda request_id, content_type: Failing(runtime.calls, content_type)  # type: ignore[method-assign]
    with pytest.raises(OSError):
        w.handle(invocation(http_api()))
    assert upstream.closed == 1
