"""reweb under the real Lambda Runtime Interface Emulator, serving real apps."""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.echo import V2, body_of, echo_env, header_values, load, with_path
from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def echo() -> Iterator[RieFunction]:
    port = free_port()
    function = RieFunction(echo_env(port), timeout_s=3)
    yield function
    function.close()


def echoed(result: dict[str, Any]) -> dict[str, Any]:
    assert result["statusCode"] == 200, result
    echoed: dict[str, Any] = json.loads(body_of(result))
    return echoed


# -- every event kind, end to end ----------------------------------------------------------------------

def test_http_api_v2_exact_request(echo: RieFunction) -> None:
    result = echo.invoke(load("apigw-http-v2/voker-http-v2-decoded-rawpath-encoded-query.json"))
    seen = echoed(result)
    assert seen["method"] == "POST"
    assert seen["target"] == ("/capture/space%20value?repeat=one&repeat=two&redirect=https%3A%2F%2Fexample.com"
                              "%2Fa%2Fb&literalPlus=a+b&encodedPlus=a%2Bb&empty=")
    assert header_values(seen, "cookie") == ["session=abc123; theme=dark"]
    assert header_values(seen, "host") == ["sjzepsqsu5.execute-api.us-west-2.amazonaws.com"]
    assert header_values(seen, "x-forwarded-proto") == ["https"]
    assert base64.b64decode(seen["body_b64"]).decode() == (
        '{"message":"hello from the public internet","unicode":"lambda-λ"}')
    context = json.loads(header_values(seen, "x-amzn-request-context")[0])
    assert context["requestId"] == "ATfSmjLgPHcESJw="
    lambda_context = json.loads(header_values(seen, "x-amzn-lambda-context")[0])
    assert lambda_context["env_config"]["function_name"] == "reweb-test"
    assert lambda_context["request_id"]


def test_rest_exact_request(echo: RieFunction) -> None:
    seen = echoed(echo.invoke(load("apigw-rest/voker-rest-encoded-path-query-repeated-headers.json")))
    assert seen["path"] == "/capture/space%20value"
    assert seen["query"].split("&").count("repeat=one") == 1
    assert "repeat=two" in seen["query"].split("&")
    assert header_values(seen, "x-voker-probe") == ["first", "second"]


def test_alb_multi_keeps_query_raw(echo: RieFunction) -> None:
    seen = echoed(echo.invoke(load("alb-multi/voker-alb-multi-encoded-path-query.json")))
    assert seen["path"] == "/capture/space%20value"
    pairs = seen["query"].split("&")
    assert "encodedPlus=a%2Bb" in pairs and "literalPlus=a+b" in pairs
    assert "redirect=https%3A%2F%2Fexample.com%2Fa%2Fb" in pairs


def test_function_url_and_lattice_and_health_check(echo: RieFunction) -> None:
    for name in ("function-url/voker-function-url-encoded-path-cookies.json", "lattice-v1/powertools-lattice-v1.json",
                 "lattice-v2/powertools-lattice-v2-multivalue-headers.json",
                 "alb-health/rust-alb-health-check-no-host.json", "alb-single/bref-alb-query-encoded-keys.json",
                 "apigw-http-v1/java-http-v1-docs-example.json"):
        result = echo.invoke(load(name))
        seen = echoed(result)
        assert seen["path"].startswith("/"), name
        assert header_values(seen, "host"), name


# -- responses -----------------------------------------------------------------------------------------

REST = "apigw-rest/voker-rest-encoded-path-query-repeated-headers.json"
ALB_MULTI = "alb-multi/voker-alb-multi-encoded-path-query.json"
ALB_SINGLE = "alb-single/golang-alb-headers-only.json"


def test_cookies_per_kind(echo: RieFunction) -> None:
    v2 = echo.invoke(with_path(load(V2), "/cookies"))
    assert v2["cookies"] == ["a=1; Path=/", "a=2; Path=/sub", "b=3; HttpOnly"]
    assert v2["headers"]["x-multi"] == "one, two"
    rest = echo.invoke(with_path(load(REST), "/cookies"))
    assert rest["multiValueHeaders"]["Set-Cookie"] == ["a=1; Path=/", "a=2; Path=/sub", "b=3; HttpOnly"]
    assert rest["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    alb = echo.invoke(with_path(load(ALB_MULTI), "/cookies"))
    assert alb["multiValueHeaders"]["Set-Cookie"] == ["a=1; Path=/", "a=2; Path=/sub", "b=3; HttpOnly"]
    assert alb["statusDescription"] == "200 OK"


def test_binary_and_text_bodies(echo: RieFunction) -> None:
    binary = echo.invoke(with_path(load(V2), "/binary", "size=5000"))
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == (bytes(range(256)) * 20)[:5000]
    text = echo.invoke(with_path(load(V2), "/text", "size=3000"))
    assert text["isBase64Encoded"] is False
    assert len(text["body"].encode()) == 3000


def test_head_204_304_have_no_body(echo: RieFunction) -> None:
    event = with_path(load(V2), "/text", "size=100")
    event["requestContext"]["http"]["method"] = "HEAD"
    head = echo.invoke(event)
    assert head["statusCode"] == 200 and head["body"] == ""
    assert head["headers"]["content-length"] == "100"
    for status in (204, 304):
        result = echo.invoke(with_path(load(V2), f"/status/{status}"))
        assert result["statusCode"] == status and result["body"] == ""


def test_redirect_to_localhost_is_fixed(echo: RieFunction) -> None:
    result = echo.invoke(with_path(load(V2), "/redirect", "to=http://localhost:8080/next?x=1"))
    assert result["statusCode"] == 302
    assert result["headers"]["location"] == "https://lambda-url.example.com/next?x=1" or result["headers"][
        "location"].startswith("https://")
    assert result["headers"]["location"].endswith("/next?x=1")
    assert "localhost" not in result["headers"]["location"]


def test_response_too_large_is_502_with_size(echo: RieFunction) -> None:
    result = echo.invoke(with_path(load(ALB_MULTI), "/binary", "size=2000000"))
    assert result["statusCode"] == 502
    assert "2000000" in body_of(result).decode() and "1048576" in body_of(result).decode()
    # and the adapter is still serving
    assert echo.invoke(with_path(load(V2), "/text", "size=10"))["statusCode"] == 200


def test_near_6mb_text_goes_as_text(echo: RieFunction) -> None:
    result = echo.invoke(with_path(load(V2), "/text", "size=5800000"))
    assert result["statusCode"] == 200 and result["isBase64Encoded"] is False
    assert len(result["body"].encode()) == 5800000


def test_passthrough_event(echo: RieFunction) -> None:
    event = load("other/golang-sqs-event.json")
    assert echo.invoke(event) == {"received": event}


# -- errors: each with a precise status and a log line -------------------------------------------------

def test_malformed_http_event_gets_400(echo: RieFunction) -> None:
    event = load(V2)
    event["body"] = "%%% not base64"
    event["isBase64Encoded"] = True
    result = echo.invoke(event)
    assert result["statusCode"] == 400
    assert "malformed http-api event" in body_of(result).decode()
    assert "malformed event" in echo.logs_with("malformed event")


def test_event_that_is_not_json(echo: RieFunction) -> None:
    status, body = echo.invoke_raw(b"{not json")
    error = json.loads(body)
    assert error["errorType"] == "Runtime.InvalidEvent", (status, body)
    assert echo.invoke(with_path(load(V2), "/text", "size=10"))["statusCode"] == 200


def test_event_nested_too_deeply_is_an_invalid_event(echo: RieFunction) -> None:
    _status, body = echo.invoke_raw(b"[" * 100_000 + b"]" * 100_000)
    error = json.loads(body)
    assert error["errorType"] == "Runtime.InvalidEvent" and "nested too deeply" in error["errorMessage"]
    assert echo.invoke(with_path(load(V2), "/text", "size=10"))["statusCode"] == 200


def test_is_base64_encoded_must_be_a_boolean(echo: RieFunction) -> None:
    event = load(V2)
    event["body"] = "aGVsbG8="
    event["isBase64Encoded"] = "true"  # a string: not Lambda's flag, and not to be guessed
    result = echo.invoke(event)
    assert result["statusCode"] == 400 and "isBase64Encoded must be true or false" in body_of(result).decode()


def test_passthrough_answer_over_the_limit_is_named_as_reweb_s_verdict() -> None:
    # The pass-through path answers 7 MB: over Lambda's 6 MB. The error is reweb's, and says so.
    function = RieFunction(echo_env(free_port(), REWEB_PASS_THROUGH_PATH="/text?size=7000000"))
    try:
        _status, body = function.invoke_raw(json.dumps(load("other/golang-sqs-event.json")).encode(), timeout=60)
        error = json.loads(body)
        assert error["errorType"] == "Runtime.AppFailure", error
        assert error["errorMessage"].startswith("reweb: the app's response is 7000000 bytes")
        assert "answered 502" not in error["errorMessage"]
    finally:
        function.close()


def test_garbage_answer_is_502(echo: RieFunction) -> None:
    result = echo.invoke(with_path(load(V2), "/garbage"))
    assert result["statusCode"] == 502
    assert "not valid HTTP" in body_of(result).decode()


def test_hang_past_deadline_is_504(echo: RieFunction) -> None:
    result = echo.invoke(with_path(load(V2), "/hang"))
    assert result["statusCode"] == 504
    assert "deadline" in body_of(result).decode()
    # Answered before Lambda's own timeout (3 s): the RIE's timeout gives no statusCode. No wall-clock bound:
    # that measured the machine's load, not reweb.
    assert echo.invoke(with_path(load(V2), "/text", "size=10"))["statusCode"] == 200


def test_crash_is_502_then_app_restarts(echo: RieFunction) -> None:
    result = echo.invoke(with_path(load(V2), "/crash"))
    assert result["statusCode"] == 502
    assert "exited with status 3" in body_of(result).decode()
    after = echo.invoke(with_path(load(V2), "/text", "size=10"))
    assert after["statusCode"] == 200
    assert "restarting the app" in echo.logs_with("restarting the app")


# -- init ----------------------------------------------------------------------------------------------

def test_app_exiting_during_init_is_an_init_error() -> None:
    function = RieFunction({"REWEB_APPLICATION_EXEC": "exit 7", "REWEB_APPLICATION_PORT": str(free_port())})
    try:
        _status, body = function.invoke_raw(json.dumps(load(V2)).encode(), timeout=20)
        assert b"exited with status 7" in body or "exited with status 7" in function.logs_with("exited with status 7")
        assert "the app exited during init" in function.logs_with("the app exited during init")
    finally:
        function.close()


def test_bad_setting_is_a_clear_init_error() -> None:
    function = RieFunction(echo_env(free_port(), REWEB_WAIT_CODE="two hundred"))
    try:
        function.invoke_raw(json.dumps(load(V2)).encode(), timeout=20)
        logs = function.logs_with("REWEB_WAIT_CODE", "configuration error")
        assert "REWEB_WAIT_CODE" in logs and "configuration error" in logs
        assert "Traceback" not in logs
    finally:
        function.close()


def async_init_function(ready_after: str, timeout_s: int) -> RieFunction:
    """The echo app behind async init, answering /ready with 200 only `ready_after` seconds after its start."""
    env = echo_env(free_port(), REWEB_WAIT_PATH="/ready", REWEB_WAIT_CODE="200", AWS_LWA_ASYNC_INIT="true",
                   READY_AFTER=ready_after)
    return RieFunction(env, timeout_s=timeout_s)


def test_app_never_ready_async_init_gives_504() -> None:
    function = async_init_function("1000", timeout_s=12)
    try:
        result = function.invoke(load(V2), timeout=30)
        assert result["statusCode"] == 504, (result, function.logs())
        assert "did not become ready" in body_of(result).decode()  # reweb's 504, before the RIE's 12 s timeout
        assert "async init" in function.logs_with("async init")
    finally:
        function.close()


def test_async_init_finishes_the_wait_inside_the_first_invocation() -> None:
    """The app is ready only after 11 s: init stops waiting at 9.8 s, the first invocation waits the rest."""
    function = async_init_function("11", timeout_s=30)
    try:
        result = function.invoke(with_path(load(V2), "/after/async-init"), timeout=40)
        assert result["statusCode"] == 200, (result, function.logs())
        assert json.loads(body_of(result))["path"] == "/after/async-init"
        logs = function.logs_with("async init", "app is ready")
        assert "async init" in logs and "app is ready" in logs, logs
        assert logs.index("async init") < logs.index("app is ready")  # ready only after init had given up
        assert function.invoke(load(V2))["statusCode"] == 200  # and the next one does not wait
    finally:
        function.close()


def test_python_http_server_serves_files(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello from http.server ✓\n")
    (tmp_path / "blob.bin").write_bytes(os.urandom(70000))
    port = free_port()
    function = RieFunction({"REWEB_APPLICATION_EXEC": f"cd {tmp_path} && exec {sys.executable} -m http.server {port} "
                                                      "--bind 127.0.0.1",
                            "REWEB_APPLICATION_PORT": str(port)})
    try:
        text = function.invoke(with_path(load(REST), "/hello.txt"))
        assert text["statusCode"] == 200 and text["body"] == "hello from http.server ✓\n"
        blob = function.invoke(with_path(load(REST), "/blob.bin"))
        assert base64.b64decode(blob["body"]) == (tmp_path / "blob.bin").read_bytes()
        missing = function.invoke(with_path(load(REST), "/nope"))
        assert missing["statusCode"] == 404
        listing = function.invoke(with_path(load(REST), "/"))
        assert "blob.bin" in listing["body"]
    finally:
        function.close()
