"""Benchmark events of every kind, built on the real captures in shared/fixtures/events/."""

from __future__ import annotations

import base64
import copy
import json
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from common import REPO_DIR
from payloads import body, content_type

if str(REPO_DIR) not in sys.path:  # tests.support.paths: where the captured events are
    sys.path.insert(0, str(REPO_DIR))
from tests.support.paths import FIXTURES

_SOURCES = {
    "http-v2": "apigw-http-v2/golang-http-v2-no-authorizer-curl.json",
    "function-url": "function-url/golang-function-url-get-root.json",
    "rest-v1": "apigw-rest/localstack-rest-proxy-basic.json",
    "alb": "alb-single/golang-alb-headers-only.json",
    "alb-multi": "alb-multi/golang-alb-multi-headers.json",
    "lattice-v1": "lattice-v1/powertools-lattice-v1.json",
    "lattice-v2": "lattice-v2/powertools-lattice-v2-string-headers.json",
    "sqs": "other/golang-sqs-event.json",
}
KINDS = tuple(_SOURCES)


@cache
def _fixture(kind: str) -> dict[str, Any]:
    path = FIXTURES / _SOURCES[kind]
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@dataclass(frozen=True)
class Case:
    """One request shape: what the client sends (through the event) and what the app answers."""

    kind: str = "http-v2"
    request_size: int = 0
    response_size: int = 1024
    body_type: str = "text"  # text or bin, for both directions
    sleep_ms: int = 0
    stream: bool = False
    first_delay_ms: int = 0

    @property
    def expected_size(self) -> int:
        """Body bytes the app answers with: a non-HTTP event goes to the pass-through path, which has no query."""
        return 2 if self.kind == "sqs" else self.response_size

    @property
    def method(self) -> str:
        return "POST" if self.request_size else "GET"

    @property
    def query(self) -> dict[str, str]:
        query = {"resp": str(self.response_size), "type": self.body_type}
        if self.sleep_ms:
            query["sleep"] = str(self.sleep_ms)
        if self.stream:
            query.update(stream="1", chunk="65536")
            if self.first_delay_ms:
                query["first_delay"] = str(self.first_delay_ms)
        return query

    @property
    def path(self) -> str:
        return "/bench"

    def request_body(self) -> bytes:
        return body(self.request_size, self.body_type) if self.request_size else b""

    def direct_request(self) -> list[bytes]:
        """The same request sent straight to the app (the floor): head and body, as reweb would send them."""
        data = self.request_body()
        head = f"{self.method} {self.path}?{urlencode(self.query)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "User-Agent: curl/7.58.0\r\nAccept: */*\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Proto: https\r\n"
        if data:
            head += f"Content-Type: {content_type(self.body_type)}\r\nContent-Length: {len(data)}\r\n"
        return [(head + "\r\n").encode(), data]

    def event(self) -> bytes:
        return json.dumps(build_event(self)).encode()


def _body_fields(data: bytes, body_type: str) -> tuple[str, bool]:
    if not data:
        return "", False
    if body_type == "bin":
        return base64.b64encode(data).decode(), True
    return data.decode(), False


def build_event(case: Case) -> dict[str, Any]:
    event = copy.deepcopy(_fixture(case.kind))
    if case.kind == "sqs":
        return event
    data = case.request_body()
    text, is_b64 = _body_fields(data, case.body_type)
    query = case.query
    headers = {"user-agent": "curl/7.58.0", "accept": "*/*", "host": "bench.example.com",
               "x-forwarded-for": "1.2.3.4", "x-forwarded-proto": "https", "x-forwarded-port": "443"}
    if data:
        headers.update({"content-type": content_type(case.body_type), "content-length": str(len(data))})
    kind = case.kind
    if kind in ("http-v2", "function-url"):
        event.update(rawPath=case.path, rawQueryString=urlencode(query), queryStringParameters=query,
                     headers=headers, isBase64Encoded=is_b64)
        event["requestContext"]["http"].update(method=case.method, path=case.path)
        event.pop("cookies", None)
        if data:
            event["body"] = text
    elif kind == "rest-v1":
        event.update(httpMethod=case.method, path=case.path, resource="/{proxy+}", headers=headers,
                     multiValueHeaders={k: [v] for k, v in headers.items()},
                     queryStringParameters=query,
                     multiValueQueryStringParameters={k: [v] for k, v in query.items()},
                     body=text or None, isBase64Encoded=is_b64, pathParameters={"proxy": case.path[1:]})
    elif kind == "alb":
        event.update(httpMethod=case.method, path=case.path, queryStringParameters=query, headers=headers,
                     body=text, isBase64Encoded=is_b64)
    elif kind == "alb-multi":
        event.update(httpMethod=case.method, path=case.path,
                     multiValueQueryStringParameters={k: [v] for k, v in query.items()},
                     multiValueHeaders={k: [v] for k, v in headers.items()}, body=text, isBase64Encoded=is_b64)
    elif kind == "lattice-v1":
        event.update(raw_path=case.path, method=case.method, headers=headers,
                     query_string_parameters=query, body=text, is_base64_encoded=is_b64)
    elif kind == "lattice-v2":
        event.update(path=case.path, method=case.method, headers=headers, queryStringParameters=query,
                     body=text, isBase64Encoded=is_b64)
    else:
        raise ValueError(f"unknown event kind {kind!r}")
    return event


def decode_response(payload: bytes) -> tuple[int, bytes]:
    """(status, body bytes) from a buffered Lambda response payload; status 0 if it has no HTTP shape."""
    data = json.loads(payload)
    if not isinstance(data, dict) or "statusCode" not in data:
        return 0, payload
    text = data.get("body") or ""
    raw = base64.b64decode(text) if data.get("isBase64Encoded") else text.encode()
    return int(data["statusCode"]), raw
