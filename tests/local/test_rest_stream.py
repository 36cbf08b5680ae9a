"""REST API response streaming (API Gateway's responseTransferMode STREAM, since November 2025) in reweb local:
`--source rest --stream` invokes with response streaming and relays the body as it comes, with REST's own
headers, a 15-minute limit instead of 29 s, and past 10 MB the 2 MB/s pace AWS keeps to.
https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html
"""

from __future__ import annotations

import http.client
import sys
from pathlib import Path

import pytest
from localharness import APPS, start_local

from reweb.local.gateways import gateway_for

pytestmark = pytest.mark.timeout(120)

STREAMING_APP = [sys.executable, str(APPS / "untyped_app.py")]


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

    from reweb import init

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
