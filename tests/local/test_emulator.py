"""The emulator's own behaviour, driven by a stand-in runtime (apps/fake_runtime.py) so every failure mode
can be provoked on demand: malformed results, errors, crashes, timeouts, init failures, limits."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.http_client import fetch
from tests.support.localharness import FAKE_RUNTIME, Local

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]  # every test starts processes

Run = Callable[..., Local]


def fake(run_local: Run, *args: str, env: dict[str, str] | None = None) -> Local:
    return run_local(list(args), runtime=FAKE_RUNTIME, app=["unused"], env=env)


@pytest.mark.parametrize(("source", "status", "body"), [
    ("rest", 502, b'{"message": "Internal server error"}'),
    ("http-api", 500, b'{"message": "Internal Server Error"}'),
    ("function-url", 502, b"Internal Server Error"),
])
def test_malformed_result_and_function_error_get_the_gateway_answer(run_local: Run, source: str, status: int,
                                                                     body: bytes) -> None:
    local = fake(run_local, "--source", source)
    for path in ("/malformed", "/error"):
        r = fetch(local.port, path)
        assert (r.status, r.body) == (status, body), path


def test_alb_error_is_its_html_page(run_local: Run) -> None:
    local = fake(run_local, "--source", "alb")
    r = fetch(local.port, "/malformed")
    assert r.status == 502 and r.reason == "Bad Gateway"
    assert b"<center><h1>502 Bad Gateway</h1></center>" in r.body and r.one("server") == "awselb/2.0"


def test_function_timeout_kills_and_replaces_the_instance(run_local: Run) -> None:
    local = fake(run_local, "--source", "rest", "--timeout", "1")
    r = fetch(local.port, "/sleep/5")
    assert (r.status, json.loads(r.body)) == (502, {"message": "Internal server error"})
    local.wait_for("Task timed out after 1.00 seconds")
    local.wait_for("Status: timeout")
    r = fetch(local.port, "/echo")  # a new instance, cold
    assert r.status == 200
    local.wait_for("Init Duration", count=2)


def test_memory_over_the_limit_kills_and_replaces_the_instance(run_local: Run) -> None:
    local = fake(run_local, "--source", "http-api", "--memory", "128")
    assert fetch(local.port, "/alloc/16").status == 200  # well under 128 MB: answered
    r = fetch(local.port, "/alloc/200")
    assert (r.status, json.loads(r.body)) == (500, {"message": "Internal Server Error"})
    local.wait_for("Error Type: Runtime.OutOfMemory")
    local.wait_for("Max Memory Used: 128 MB")
    assert fetch(local.port, "/echo").status == 200  # a new instance, cold
    local.wait_for("Init Duration", count=2)


@pytest.mark.timeout(90)
def test_gateway_integration_timeouts_answer_before_the_function_timeout(run_local: Run) -> None:
    """REST gives up after 29 s (504), HTTP API after 30 s (503); the function (timeout 60 s) runs on."""
    rest = fake(run_local, "--source", "rest", "--timeout", "60")
    http_api = fake(run_local, "--source", "http-api", "--timeout", "60")
    with ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        rest_answer = pool.submit(fetch, rest.port, "/sleep/40", timeout=80)
        api_answer = pool.submit(fetch, http_api.port, "/sleep/40", timeout=80)
        r, a = rest_answer.result(), api_answer.result()
        elapsed = time.monotonic() - started
    assert (r.status, json.loads(r.body)) == (504, {"message": "Endpoint request timed out"})
    assert (a.status, json.loads(a.body)) == (503, {"message": "Service Unavailable"})
    assert 29 <= elapsed < 38, elapsed  # both at their gateway's limit, well before the app's 40 s


def test_crashed_instance_is_replaced(run_local: Run) -> None:
    local = fake(run_local, "--source", "http-api")
    assert fetch(local.port, "/echo").status == 200
    assert fetch(local.port, "/crash").status == 500
    local.wait_for("Error Type: Runtime.ExitError")
    assert fetch(local.port, "/echo").status == 200
    local.wait_for("Init Duration", count=2)  # the crash ran warm; the request after it cold-started
    local.wait_for("REPORT RequestId", count=3)
    assert local.count("Init Duration") == 2


def test_init_error_and_init_timeout(run_local: Run) -> None:
    failing = fake(run_local, "--source", "http-api", env={"FAKE_INIT": "fail"})
    r = fetch(failing.port, "/echo")
    assert (r.status, r.body) == (500, b'{"message": "Internal Server Error"}')
    failing.wait_for("Status: error\tError Type: InitBoom")
    slow = fake(run_local, "--source", "rest", "--init-timeout", "1", env={"FAKE_INIT": "slow:30"})
    r = fetch(slow.port, "/echo")
    assert r.status == 502
    slow.wait_for("INIT_REPORT Init Duration: 1000.00 ms\tPhase: init\tStatus: timeout")


def test_size_limits(run_local: Run) -> None:
    alb = fake(run_local, "--source", "alb")
    r = fetch(alb.port, "/echo", method="POST", body=b"x" * (1024 * 1024 + 1))
    assert r.status == 413 and b"413 Request Entity Too Large" in r.body
    assert fetch(alb.port, "/echo", method="POST", body=b"x" * 1000).status == 200
    r = fetch(alb.port, "/big/1100000")  # over ALB's 1 MB response limit, under Lambda's 6 MB
    assert r.status == 502 and b"502 Bad Gateway" in r.body
    api = fake(run_local, "--source", "http-api")
    assert fetch(api.port, "/big/1100000").status == 200
    r = fetch(api.port, "/big/6300000")  # over Lambda's 6 MB buffered limit
    assert (r.status, r.body) == (500, b'{"message": "Internal Server Error"}')
    r = fetch(api.port, "/echo", method="POST", body=b"x" * (10 * 1024 * 1024 + 1))
    assert (r.status, json.loads(r.body)) == (413, {"message": "Request Entity Too Large"})
    r = fetch(api.port, "/echo", method="POST", body=b"x" * (7 * 1024 * 1024),
              headers={"Content-Type": "text/plain"})  # the gateway takes it, the event is over 6 MB
    assert r.status == 500
    # VPC Lattice allows 6 MB requests and responses to Lambda (its documentation), not ALB's 1 MB.
    lattice = fake(run_local, "--source", "lattice")
    assert fetch(lattice.port, "/big/1100000").status == 200
    assert fetch(lattice.port, "/echo", method="POST", body=b"x" * (2 * 1024 * 1024),
                 headers={"Content-Type": "text/plain"}).status == 200
    assert fetch(lattice.port, "/big/6300000").status == 502


def test_stream_prelude_cookies_and_midstream_failure(run_local: Run, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    local = fake(run_local, "--source", "function-url", "--stream", env={"FAKE_GATE": str(gate)})
    conn = http.client.HTTPConnection("127.0.0.1", local.port, timeout=20)
    conn.request("GET", "/stream")
    resp = conn.getresponse()
    assert resp.status == 201 and resp.getheader("x-kind") == "stream"
    assert [v for k, v in resp.getheaders() if k.lower() == "set-cookie"] == ["a=1", "b=2"]
    assert resp.read1(65536) == b"first" and not gate.exists()
    gate.touch()
    assert resp.read() == b"second"
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", local.port, timeout=20)
    conn.request("GET", "/stream-fail")
    resp = conn.getresponse()
    assert resp.status == 201
    with pytest.raises(http.client.IncompleteRead):
        resp.read()  # cut off, no terminating chunk
    local.wait_for("stream ended with Boom")


def _wait_until_idle(port: int, within: float = 30.0) -> None:
    """Until the dashboard shows one instance, warm and idle (its runtime is back on /next), bounded in time."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        instances = json.loads(fetch(port, "/__reweb/api/state").body)["instances"]
        if [i["state"] for i in instances] == ["frozen"] or (
                [i["state"] for i in instances] == ["warm"] and instances[0]["detail"].startswith("idle ")):
            return  # not invoking, nor answered without its /next yet
        time.sleep(0.05)
    raise AssertionError(f"no idle instance within {within} s: {instances}")


def test_report_lines(run_local: Run) -> None:
    local = fake(run_local, "--source", "http-api", "--memory", "256")
    assert fetch(local.port, "/echo").status == 200
    # The second request must find the instance idle, as a warm invocation on Lambda does: the client can have
    # the answer before the runtime's /next arrives, and below the concurrency limit a request in that instant
    # starts a second instance (a cold start of its own, as Lambda may too).
    _wait_until_idle(local.port)
    assert fetch(local.port, "/echo").status == 200
    local.wait_for("REPORT RequestId", count=2)
    reports = [line for line in local.lines if line.startswith("REPORT RequestId")]
    assert "Init Duration" in reports[0] and "Init Duration" not in reports[1]
    for line in reports:
        fields = dict(part.split(": ", 1) for part in line.split("\t"))
        assert fields["Memory Size"] == "256 MB"
        assert int(fields["Max Memory Used"].split()[0]) > 1
        assert int(fields["Billed Duration"].split()[0]) >= float(fields["Duration"].split()[0])
    assert local.count("START RequestId") == 2 and local.count("END RequestId") == 2
