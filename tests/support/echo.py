"""The echo app (tests/support/echo_app.py) under the RIE, and the events and answers the tests give and read:
shared by tests/integration/test_rie.py, test_settings.py and the process tests."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from tests.support.paths import FIXTURES

ECHO = Path(__file__).resolve().parent / "echo_app.py"
V2 = "apigw-http-v2/rust-http-v2-minimal-curl.json"


def load(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / relative).read_text())
    return event


def echo_env(port: int, **extra: str) -> dict[str, str]:
    return {"REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}", "REWEB_APPLICATION_PORT": str(port),
            **extra}


def body_of(result: dict[str, Any]) -> bytes:
    body = result.get("body", "")
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()


def header_values(echo: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in echo["headers"] if k.lower() == name]


def with_path(event: dict[str, Any], path: str, query: str = "") -> dict[str, Any]:
    event = json.loads(json.dumps(event))
    if "rawPath" in event:
        event["rawPath"] = path
        event["rawQueryString"] = query
    else:
        event["path"] = path
        event["queryStringParameters"] = None
        if query:
            key, _, value = query.partition("=")
            event["multiValueQueryStringParameters"] = {key: [value]}
        else:
            event["multiValueQueryStringParameters"] = None
    event["body"] = None if "rawPath" not in event else ""
    event["isBase64Encoded"] = False
    if "httpMethod" in event:
        event["httpMethod"] = "GET"
    else:
        event["requestContext"]["http"]["method"] = "GET"
    return event
