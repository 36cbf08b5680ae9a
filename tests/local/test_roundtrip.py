"""Real requests through reweb local, the real reweb adapter and a real app, for every source kind."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.http_client import fetch

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]  # every test starts processes

SOURCES = ["http-api", "rest", "function-url", "alb", "alb-multi", "lattice"]


@pytest.fixture(scope="module", params=SOURCES)
def local(request: pytest.FixtureRequest) -> Any:
    from tests.support.localharness import alive, start_local

    started = start_local(["--source", request.param, "--concurrency", "2"])
    started.source = request.param  # type: ignore[attr-defined]
    yield started
    started.stop()
    assert not [pid for pid in started.seen if alive(pid)]


def test_text(local: Any) -> None:
    r = fetch(local.port, "/text?id=abc")
    assert (r.status, r.body) == (200, b"hello abc")
    assert r.one("content-type") == "text/plain; charset=utf-8"
    assert r.one("x-request-echo") == "abc"


def test_binary_bytes_survive(local: Any) -> None:
    r = fetch(local.port, "/binary")
    assert (r.status, r.body, r.one("content-type")) == (200, bytes(range(256)), "image/png")


def test_empty(local: Any) -> None:
    r = fetch(local.port, "/empty")
    assert (r.status, r.body) == (204, b"")


def test_head(local: Any) -> None:
    r = fetch(local.port, "/text?id=12345", method="HEAD")
    assert r.status == 200 and r.body == b""
    assert r.one("x-request-echo") == "12345"


def test_redirect_is_not_followed(local: Any) -> None:
    r = fetch(local.port, "/redirect")
    assert r.status == 302 and r.one("location") == "/text"


def test_cookies_and_repeated_headers(local: Any) -> None:
    r = fetch(local.port, "/cookies")
    assert r.status == 200 and r.body == b"ok"
    assert r.all("set-cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    multi = r.all("x-multi")
    if local.source in ("rest", "alb-multi"):
        assert multi == ["one", "two"]  # multi-value maps keep repeats
    else:
        assert ",".join(v.replace(" ", "") for v in multi) == "one,two"  # single maps comma-join


def test_request_reaches_app_intact(local: Any) -> None:
    body = bytes(range(256)) * 4
    r = fetch(local.port, "/echo?q=a%20b&q=2", method="POST", body=body,
              headers={"Content-Type": "application/octet-stream", "X-Probe": "p1", "Cookie": "c=1; d=2"})
    assert r.status == 200
    doc = json.loads(r.body)
    assert doc["method"] == "POST"
    import base64
    assert base64.b64decode(doc["body"]) == body
    names = {k.lower(): v for k, v in doc["headers"]}
    assert names["x-probe"] == "p1"
    assert names["cookie"].replace(" ", "") == "c=1;d=2"


def test_streaming_delivers_first_chunk_before_the_app_finishes(tmp_path: Path) -> None:
    from tests.support.localharness import start_local

    gate = tmp_path / "gate"
    local = start_local(["--source", "function-url", "--stream"], env={"GATE_FILE": str(gate)})
    try:
        conn = http.client.HTTPConnection("127.0.0.1", local.port, timeout=20)
        conn.request("GET", "/stream")
        resp = conn.getresponse()
        assert resp.status == 200
        first = resp.read1(65536)
        # The app is still blocked on the gate: the first bytes came through on their own (an event, no clock).
        assert first == b"first" and not gate.exists()
        gate.touch()
        assert resp.read() == b"second"
        conn.close()
    finally:
        local.stop()


def test_streaming_keeps_content_length_and_head_has_no_body() -> None:
    """Through a streamed Function URL: the app's Content-Length reaches the client (the body is not chunked),
    and a HEAD answer carries the size but no body, as in the buffered path."""
    from tests.support.localharness import start_local

    local = start_local(["--source", "function-url", "--stream"])
    try:
        for method in ("GET", "HEAD"):
            conn = http.client.HTTPConnection("127.0.0.1", local.port, timeout=20)
            conn.request(method, "/text?id=abc")
            resp = conn.getresponse()
            body = resp.read()
            assert resp.status == 200
            length = resp.getheader("Content-Length")
            assert length is not None and resp.getheader("Transfer-Encoding") is None, resp.getheaders()
            if method == "GET":
                assert int(length) == len(body) > 0 and b"abc" in body
                size = int(length)
            else:
                assert body == b"" and int(length) == size
            conn.close()
    finally:
        local.stop()


def test_a_websocket_upgrade_is_named_once() -> None:
    from tests.support.localharness import start_local

    local = start_local([])
    try:
        headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
        for _ in range(3):
            reply = fetch(local.port, "/comms", headers=headers)
            assert reply.status != 101  # no upgrade: the front door, like AWS's, carries none
        local.wait_for("a client asked for a WebSocket (/comms)")
        assert local.count("a client asked for a WebSocket") == 1
    finally:
        local.stop()
