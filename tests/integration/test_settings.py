"""Settings that change what the app sees or what Lambda gets, checked under the real RIE."""

from __future__ import annotations

import base64
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest

from tests.support.echo import V2, body_of, echo_env, header_values, load, with_path
from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def configured() -> Iterator[RieFunction]:
    env = echo_env(free_port(), REWEB_ERROR_STATUS_CODES="500,502-504", AWS_LWA_AUTHORIZATION_SOURCE="X-Api-Auth",
                   REWEB_REMOVE_BASE_PATH="/api", AWS_LAMBDA_LOG_FORMAT="JSON", REWEB_ENABLE_COMPRESSION="true")
    function = RieFunction(env)
    yield function
    function.close()


def test_forged_context_headers_are_replaced(configured: RieFunction) -> None:
    event = with_path(load(V2), "/api/echo")
    event["headers"]["x-amzn-lambda-context"] = '{"request_id":"forged"}'
    event["headers"]["X-Amzn-Request-Context"] = '{"forged":true}'
    seen = json.loads(body_of(configured.invoke(event)))
    lambda_ctx = header_values(seen, "x-amzn-lambda-context")
    request_ctx = header_values(seen, "x-amzn-request-context")
    assert len(lambda_ctx) == 1 and "forged" not in lambda_ctx[0]
    assert len(request_ctx) == 1 and json.loads(request_ctx[0]) == event["requestContext"]


def test_base_path_removed_on_whole_segments(configured: RieFunction) -> None:
    assert json.loads(body_of(configured.invoke(with_path(load(V2), "/api/echo"))))["path"] == "/echo"
    assert json.loads(body_of(configured.invoke(with_path(load(V2), "/api"))))["path"] == "/"
    assert json.loads(body_of(configured.invoke(with_path(load(V2), "/apix/echo"))))["path"] == "/apix/echo"


def test_authorization_source_moves_the_header(configured: RieFunction) -> None:
    event = with_path(load(V2), "/echo")
    event["headers"]["x-api-auth"] = "Bearer from-custom-header"
    seen = json.loads(body_of(configured.invoke(event)))
    assert header_values(seen, "authorization") == ["Bearer from-custom-header"]
    assert header_values(seen, "x-api-auth") == []


def test_error_status_codes_become_invocation_errors(configured: RieFunction) -> None:
    _status, body = configured.invoke_raw(json.dumps(with_path(load(V2), "/status/503")).encode())
    error = json.loads(body)
    assert error["errorType"] == "HttpError" and "503" in error["errorMessage"]
    assert '"path": "/status/503"' in error["errorMessage"]  # the app's own body is kept (LWA #668)
    ok = configured.invoke(with_path(load(V2), "/status/404"))  # not listed: an ordinary response
    assert ok["statusCode"] == 404


def test_negotiated_compression(configured: RieFunction) -> None:
    event = with_path(load(V2), "/text", "size=20000")
    event["headers"]["accept-encoding"] = "gzip;q=0.9, deflate, br;q=0.5"  # gzip preferred
    result = configured.invoke(event)
    assert result["headers"]["content-encoding"] == "gzip" and result["isBase64Encoded"] is True
    assert len(gzip.decompress(base64.b64decode(result["body"]))) == 20000
    event["headers"]["accept-encoding"] = "gzip, deflate, br"  # as browsers send it: Brotli, the smaller
    result = configured.invoke(event)
    assert result["headers"]["content-encoding"] == "br" and result["isBase64Encoded"] is True
    assert brotli.decompress(base64.b64decode(result["body"])) == gzip.decompress(
        base64.b64decode(configured.invoke({**event, "headers": {**event["headers"], "accept-encoding": "gzip"}})
                         ["body"]))
    plain = configured.invoke(with_path(load(V2), "/text", "size=20000"))  # the client did not ask
    assert "content-encoding" not in plain["headers"] and len(plain["body"].encode()) == 20000
    binary = configured.invoke({**event, "rawPath": "/binary"})  # not a compressible type
    assert "content-encoding" not in binary["headers"]


def test_json_logs(configured: RieFunction) -> None:
    configured.invoke(with_path(load(V2), "/garbage"))
    logs = configured.logs_with("app request failed")
    records = [json.loads(line) for line in logs.splitlines() if line.startswith('{"timestamp"')]
    assert any(r["level"] == "ERROR" and r["message"] == "app request failed" for r in records)
    assert any(r["message"] == "reweb ready" for r in records)


def test_force_gzip_and_argv_command() -> None:
    port = free_port()
    echo = Path(__file__).resolve().parent.parent / "support" / "echo_app.py"
    function = RieFunction({"REWEB_FORCE_GZIP": "1", "REWEB_APPLICATION_PORT": str(port)},
                           args=("--", sys.executable, str(echo), str(port)))
    try:
        result: dict[str, Any] = function.invoke(with_path(load(V2), "/binary", "size=300"))
        assert result["headers"]["content-encoding"] == "gzip"
        assert gzip.decompress(base64.b64decode(result["body"])) == bytes(range(256)) + bytes(range(44))
    finally:
        function.close()
