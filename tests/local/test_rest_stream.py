"""REST API response streaming (API Gateway's responseTransferMode STREAM, since November 2025) in reweb local:
`--source rest --stream` invokes with response streaming and relays the body as it comes, with REST's own
headers, a 15-minute limit instead of 29 s, and past 10 MB the 2 MB/s pace AWS keeps to.
https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from pathlib import Path

import pytest

from reweb.local.gateways import gateway_for
from tests.support.http_client import Reply, fetch
from tests.support.localharness import APPS, FAKE_RUNTIME, Local, start_local

pytestmark = pytest.mark.timeout(120)

STREAMING_APP = [sys.executable, str(APPS / "untyped_app.py")]


@pytest.mark.integration
def test_a_streaming_app_reaches_the_client_as_it_streams_through_rest(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    local = start_local(["--source", "rest", "--stream", "--concurrency", "1"], app=STREAMING_APP,
                        env={"GATE_FILE": str(gate)})
    try:
        conn = http.client.HTTPConnection("127.0.0.1", local.port, timeout=30)
        conn.request("GET", "/events")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("Content-Type") == "text/event-stream"
        assert resp.getheader("x-amzn-RequestId") and resp.getheader("x-amz-apigw-id")  # REST's, not a URL's
        first = resp.read1(65536)
        # The app is still blocked on the gate: the first event came through on its own (an event, no clock).
        assert first == b"data: one\n\n" and not gate.exists()
        gate.touch()
        assert resp.read() == b"data: two\n\n"
        conn.close()
    finally:
        local.stop()


@pytest.mark.integration
def test_past_10_mb_a_rest_stream_goes_on_at_api_gateways_pace() -> None:
    """More than REST's buffered 10 MB reaches the client in full; past 10 MB the front door slows to 2 MB/s and
    says so once (no clock in the test: the note is the observable)."""
    local = start_local(["--source", "rest", "--stream", "--concurrency", "1"], app=STREAMING_APP)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", local.port, timeout=60)
        conn.request("GET", "/big?mb=1")
        resp = conn.getresponse()
        assert resp.status == 200 and len(resp.read()) == 1024 * 1024
        assert local.count("past 10 MB") == 0
        conn.request("GET", "/big?mb=12")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type") == "application/octet-stream"
        assert len(resp.read()) == 12 * 1024 * 1024
        local.wait_for("past 10 MB")
        assert local.count("past 10 MB") == 1
        conn.close()
    finally:
        local.stop()


def test_rest_in_stream_mode_has_api_gateways_streaming_limits() -> None:
    buffered, streamed = gateway_for("rest"), gateway_for("rest", stream=True)
    assert buffered.integration_timeout == 29.0
    assert streamed.integration_timeout == 15 * 60  # "You can stream your response for up to 15 minutes"
    assert (streamed.stream_idle_timeout, streamed.stream_duration) == (5 * 60, 15 * 60)
    assert streamed.stream_throttle == (10 * 1024 * 1024, 2 * 1024 * 1024)
    assert streamed.name == "rest" and streamed.streams


def test_the_pace_past_10_mb_and_the_waits_of_a_rest_stream() -> None:
    from reweb.local.server import Pace, stream_wait

    mb = 1024 * 1024
    pace = Pace((10 * mb, 2 * mb))
    assert pace.take(10 * mb, now=100.0) == (0.0, False)  # the first 10 MB go at full speed
    assert pace.take(mb, now=100.0) == (0.5, True)  # the next MB waits half a second, and says so once
    assert pace.take(mb, now=100.5) == (0.5, False)
    assert pace.take(mb, now=103.0) == (0.0, False)  # a slow producer is never held back further
    assert Pace(None).take(100 * mb, now=0.0) == (0.0, False)
    rest = gateway_for("rest", stream=True)
    assert stream_wait(rest, 0.0)[0] == 300.0 and "idle" in stream_wait(rest, 0.0)[1]
    assert stream_wait(rest, 800.0)[0] == 100.0 and "900 s limit" in stream_wait(rest, 800.0)[1]
    assert stream_wait(gateway_for("function-url"), 5000.0) == (None, "")


def test_reweb_init_writes_a_streaming_rest_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`reweb init --front-door rest --stream`: the SAM template's Streaming parameter on, the Terraform module's
    streaming on, the image's invoke mode streaming, and the function timeout not held to REST's buffered 29 s."""
    import re

    from reweb import scaffold as init

    monkeypatch.chdir(tmp_path)
    plan = init.make_plan(init.parser().parse_args(["--front-door", "rest", "--stream"]), ["python3", "app.py"])
    assert (plan.front_door, plan.stream, plan.timeout) == ("rest-api", True, 30)
    template = init.sam_template(plan, (init.templates_dir() / "sam" / "rest-api.yaml").read_text())
    assert re.search(r'^  Streaming:\n(?:    .*\n)*?    Default: "true"$', template, re.M)
    assert re.search(r"streaming\s+= true", init.terraform_main(plan))
    assert 'ENV REWEB_INVOKE_MODE="response_stream"' in init.dockerfile(plan)
    buffered = init.make_plan(init.parser().parse_args(["--front-door", "rest"]), ["python3", "app.py"])
    assert buffered.timeout == 29
    assert re.search(r'^  Streaming:\n(?:    .*\n)*?    Default: "false"$',
                     init.sam_template(buffered, (init.templates_dir() / "sam" / "rest-api.yaml").read_text()), re.M)


def test_a_rest_stream_idle_past_the_gateways_timeout_is_cut_and_the_rest_drained() -> None:
    """In process, with the real front door and a stand-in for the pool: after the idle timeout (shortened here)
    the client sees the body cut off, the console says why, and what the function sends later is consumed, so
    the runtime is never blocked on a stream nobody reads."""
    import asyncio
    import io
    import json as jsonlib

    import aiohttp
    from aiohttp import test_utils

    from reweb.local.options import Options
    from reweb.local.report import Logger
    from reweb.local.runtime_api import STREAM_TYPE, Invocation, Streamed, StreamEnd
    from reweb.local.server import FrontDoor

    class Pool:
        def __init__(self) -> None:
            self.on_start: list[object] = []
            self.watchers: list[object] = []
            self.stream = Streamed(STREAM_TYPE)

        async def invoke(self, event: bytes, request_id: str, trace_id: str) -> Invocation:
            inv = Invocation(request_id, event, 0, trace_id, "arn")
            inv.outcome.set_result(self.stream)
            return inv

    async def scenario() -> tuple[bytes, str, int]:
        pool = Pool()
        out = io.StringIO()
        gateway = gateway_for("rest", stream=True)
        gateway.stream_idle_timeout = 0.3  # API Gateway's is 300 s
        door = FrontDoor(Options(source="rest", stream=True), pool, gateway, Logger(out))  # type: ignore[arg-type]
        server = test_utils.TestServer(door.app(), host="127.0.0.1")
        await server.start_server()
        try:
            prelude = jsonlib.dumps({"statusCode": 200, "headers": {"Content-Type": "text/plain"}}).encode()
            await pool.stream.chunks.put(prelude + b"\0" * 8 + b"one")
            got = b""

            async def read() -> None:
                nonlocal got
                async with aiohttp.ClientSession() as session, session.get(server.make_url("/")) as resp:
                    assert resp.status == 200 and resp.headers["Content-Type"] == "text/plain"
                    try:
                        async for data in resp.content.iter_any():
                            got += data
                    except aiohttp.ClientPayloadError:
                        pass  # cut off: no terminating chunk

            await asyncio.wait_for(read(), 30)  # a bound, not a measure: without the idle cut it never ends
            for i in range(40):  # more than the queue holds: only the drain lets these in
                await asyncio.wait_for(pool.stream.chunks.put(b"late %d" % i), 10)
            await asyncio.wait_for(pool.stream.chunks.put(StreamEnd()), 10)
            for _ in range(100):
                if not door.background:
                    break
                await asyncio.sleep(0.05)
            return got, out.getvalue(), len(door.background)
        finally:
            await server.close()

    got, log, draining = asyncio.run(scenario())
    assert got == b"one"
    assert "rest ended the stream: 0.3 s without a byte (its idle timeout)" in log
    assert draining == 0


def wait_for_row(local: Local, path: str) -> None:
    """Until the dashboard has a row for a request to `path` (bounded: 30 s of polls)."""
    for _ in range(300):
        doc = json.loads(fetch(local.port, "/__reweb/api/state").body)
        if any(row["path"] == path for row in doc["invocations"]):
            return
        time.sleep(0.1)
    raise AssertionError(f"no request to {path} reached the front door; log:\n" + "\n".join(local.lines))


@pytest.mark.integration
@pytest.mark.parametrize(("method", "path", "status", "body"), [("GET", "/stream-sized", 200, b"whole"),
                                                                ("HEAD", "/stream", 201, b"")])
def test_a_request_right_after_a_whole_streamed_answer_waits_for_its_instance(
        tmp_path: Path, method: str, path: str, status: int, body: bytes) -> None:
    """A client that has the whole of a streamed answer (every byte its Content-Length announced, or the head of a
    HEAD answer) may ask again before the runtime's terminating chunk reaches the Runtime API. At --concurrency 1
    that request waits for the instance, as one does while the runtime's /next is on its way, rather than being
    throttled (REST's 500): under load a client was that quick (issue #22). Here the fake runtime keeps its stream
    open until the test opens the gate, so that instant lasts as long as the test needs (events, no clock)."""
    gate = tmp_path / "gate"
    local = start_local(["--source", "rest", "--stream", "--concurrency", "1"], runtime=FAKE_RUNTIME,
                        env={"FAKE_GATE": str(gate)})
    try:
        first = fetch(local.port, path, method=method)
        assert (first.status, first.body) == (status, body)
        second: list[Reply] = []
        asker = threading.Thread(target=lambda: second.append(fetch(local.port, "/echo")), daemon=True)
        asker.start()
        # The front door makes a request's row and asks the pool for an instance in one step of its event loop
        # (nothing is awaited in between for a request without a body), so once the dashboard, served by that same
        # loop, shows the row, the pool has decided: throttled, or waiting for this instance.
        wait_for_row(local, "/echo")
        assert not second or second[0].status != 200  # no answer yet, unless a throttle: the stream is still open
        gate.touch()
        asker.join(timeout=30)
        assert second and second[0].status == 200, (second, "\n".join(local.lines))
        assert local.count("throttled:") == 0
    finally:
        local.stop()
