"""REWEB_ERROR_STATUS_CODES under the real RIE, buffered and streamed alike: a listed status is an invocation error
(POST /error, errorType HttpError) that carries the status and the first ERROR_BODY_KEPT bytes of the app's body,
or what came of it within ERROR_BODY_WAIT seconds; nothing of it goes out as a response, and the next invocation
is served as usual."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from reweb.adapter import ERROR_BODY_KEPT, ERROR_BODY_WAIT
from tests.support.echo import V2, echo_env, load, with_path
from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration
ALB = "alb-single/golang-alb-headers-only.json"
PREFIX = "the app answered 503, listed in REWEB_ERROR_STATUS_CODES: "


@pytest.fixture(scope="module", params=["buffered", "response_stream"])
def function(request: pytest.FixtureRequest) -> Iterator[RieFunction]:
    function = RieFunction(echo_env(free_port(), REWEB_ERROR_STATUS_CODES="500,502-504",
                                    REWEB_INVOKE_MODE=request.param))
    yield function
    function.close()


def error_of(function: RieFunction, event: dict[str, object]) -> dict[str, object]:
    _status, body = function.invoke_raw(json.dumps(event).encode())
    error = json.loads(body)
    assert isinstance(error, dict) and error.get("errorType") == "HttpError", body[:300]
    return error


def status_of(function: RieFunction, event: dict[str, object]) -> int:
    """The status of an ordinary result: buffered, the result's statusCode; streamed, the prelude's (the RIE
    hands back the streamed bytes as they came: prelude, 8 NULs, body)."""
    _status, body = function.invoke_raw(json.dumps(event).encode())
    prelude, nuls, _rest = body.partition(b"\0" * 8)
    status = json.loads(prelude if nuls else body)["statusCode"]
    assert isinstance(status, int), body[:300]
    return status


def test_a_listed_status_is_an_error_with_the_apps_body(function: RieFunction) -> None:
    error = error_of(function, with_path(load(V2), "/status/503"))
    message = str(error["errorMessage"])
    assert message.startswith(PREFIX)
    echo = json.loads(message.removeprefix(PREFIX))  # the app's whole body: a small one is kept entire
    assert echo["path"] == "/status/503" and echo["method"] == "GET"
    assert status_of(function, with_path(load(V2), "/status/404")) == 404  # not listed: an ordinary response


def test_a_large_error_body_is_cut_at_the_same_size_in_either_mode(function: RieFunction) -> None:
    event = with_path(load(V2), "/status/503")
    event["headers"].update({f"x-filler-{i}": str(i) * 30_000 for i in range(4)})  # echoed: a 120 KB body
    message = str(error_of(function, event)["errorMessage"])
    note = f" [the first {ERROR_BODY_KEPT} bytes of its body]"
    assert message.startswith(PREFIX + '{"method": "GET"') and message.endswith(note)
    assert len(message.encode()) == len(PREFIX) + ERROR_BODY_KEPT + len(note)
    # The connection the cut body was read from is not reused for the next request (its rest is unread).
    assert status_of(function, with_path(load(V2), "/status/404")) == 404
    assert "bytes beyond the end of an answer" not in function.logs()


@pytest.mark.parametrize(("source", "sent"), [(V2, 5_400_000), (ALB, 1_100_000)])
def test_a_listed_status_over_the_buffered_limit_is_the_same_error(function: RieFunction, source: str,
                                                                    sent: int) -> None:
    """The app echoes the request's body in base64: 5.4 MB sent is a 7.2 MB answer, over the 6 MB of a buffered
    result; 1.1 MB sent to ALB is 1.5 MB, over its 1 MB. The listed 500 is still the invocation error, cut like
    any other (not reweb's own 502 for a body too large), and the next invocation is served as usual."""
    event = with_path(load(source), "/status/500")
    if "httpMethod" in event:  # ALB
        event["httpMethod"] = "POST"
    else:
        event["requestContext"]["http"]["method"] = "POST"
    event["body"], event["isBase64Encoded"] = "b" * sent, False
    message = str(error_of(function, event)["errorMessage"])
    prefix = PREFIX.replace("503", "500")
    note = f" [the first {ERROR_BODY_KEPT} bytes of its body]"
    assert message.startswith(prefix + '{"method": "POST"') and message.endswith(note), message[:300]
    assert len(message.encode()) == len(prefix) + ERROR_BODY_KEPT + len(note)
    assert status_of(function, with_path(load(source), "/status/404")) == 404
    logs = function.logs()
    assert "bytes beyond the end of an answer" not in logs and "too large" not in logs


@pytest.mark.parametrize("mode", ["buffered", "response_stream"])
def test_a_listed_status_whose_body_does_not_end_is_the_error_long_before_the_deadline(mode: str) -> None:
    """The echo app's /stream is a 200 whose body is a chunk every `delay` seconds: with 200 listed and a delay of
    ten minutes, its body is one chunk, then nothing while the invocation has two minutes. The error comes with
    that chunk and the note well within the client's wait (a third of the invocation's time), and the next
    invocation is served on a new connection to the app."""
    function = RieFunction(echo_env(free_port(), REWEB_ERROR_STATUS_CODES="200", REWEB_INVOKE_MODE=mode),
                           timeout_s=120)
    try:
        _status, body = function.invoke_raw(json.dumps(with_path(load(V2), "/stream", "chunks=2&delay=600"))
                                            .encode(), timeout=40)
        error = json.loads(body)
        assert error.get("errorType") == "HttpError", body[:300]
        message = str(error["errorMessage"])
        prefix = PREFIX.replace("503", "200") + "chunk 0 at "
        assert message.startswith(prefix), message[:300]
        assert message.endswith(f"\n [its body was still coming after {ERROR_BODY_WAIT:g} s]"), message[-300:]
        assert status_of(function, with_path(load(V2), "/status/404")) == 404
        assert "bytes beyond the end of an answer" not in function.logs()
    finally:
        function.close()
