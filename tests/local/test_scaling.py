"""Lambda's scaling model: a request that finds no idle instance starts one and is served by it, after its init; past
the concurrency limit it is throttled and each front door answers as it does for a Lambda throttle; new instances
come no faster than Lambda's concurrency scaling rate (1,000 every 10 seconds per function)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tests.support.http_client import fetch
from tests.support.localharness import Local

if TYPE_CHECKING:
    from reweb.local.instances import Instance, State

pytestmark = pytest.mark.timeout(90)

Run = Callable[..., Local]


@pytest.mark.integration
def test_eight_parallel_requests_to_a_cold_function_are_eight_cold_starts(run_local: Run) -> None:
    local = run_local(["--source", "http-api"])  # the default concurrency, 10
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: fetch(local.port, f"/text?id=c{i}&sleep=0.2"), range(8)))
    assert [(a.status, a.body) for a in answers] == [(200, f"hello c{i}".encode()) for i in range(8)]
    local.wait_for("REPORT RequestId", count=8)
    reports = [line for line in local.lines if line.startswith("REPORT RequestId")]
    assert all("Init Duration" in line for line in reports), reports  # each served by the instance it started
    state = json.loads(fetch(local.port, "/__reweb/api/state").body)
    assert state["summary"]["cold_starts"] == 8 and state["summary"]["instances"] == 8, state["summary"]
    rows = [r for r in state["invocations"] if r["path"].startswith("/text")]
    assert sorted(r["instance"] for r in rows) == list(range(1, 9)) and all(r["cold"] for r in rows), rows
    assert len(state["instances"]) == 8
    # A second wave finds eight idle instances: warm.
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda i: fetch(local.port, f"/text?id=w{i}").status, range(8))) == {200}
    local.wait_for("REPORT RequestId", count=16)
    assert local.count("Init Duration") == 8
    local.stop()
    assert "reweb local: summary: 16 invocations, 8 cold starts, 0 errors, at 1024 MB" in local.lines
    assert any("8 instances started" in line for line in local.lines), local.lines[-12:]


THROTTLED = {
    # Lambda's docs (services-apigateway-errors): the Lambda API rejected the invocation, API Gateway answers 500.
    "rest": (500, {"message": "Internal server error"}),
    "http-api": (500, {"message": "Internal Server Error"}),
    "function-url": (429, {"message": "Rate Exceeded."}),
    "alb": (503, None),
}


@pytest.mark.integration
@pytest.mark.parametrize("source", sorted(THROTTLED))
def test_past_the_concurrency_limit_the_front_door_answers_a_throttle(run_local: Run, source: str) -> None:
    local = run_local(["--source", source, "--concurrency", "2"])
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda i: fetch(local.port, f"/text?id=t{i}&sleep=3"), range(5)))
    served = [a for a in answers if a.status == 200]
    throttled = [a for a in answers if a.status != 200]
    assert len(served) == 2 and len(throttled) == 3, [(a.status, a.body[:80]) for a in answers]
    status, body = THROTTLED[source]
    for a in throttled:
        assert a.status == status, (a.status, a.body)
        if body is not None:
            assert json.loads(a.body) == body
    local.wait_for("REPORT RequestId", count=2)
    assert local.count("Init Duration") == 2 and local.count("START RequestId") == 2  # a throttle is no invocation
    state = json.loads(fetch(local.port, "/__reweb/api/state").body)
    assert state["summary"]["throttles"] == 3 and state["summary"]["invocations"] == 2
    assert sum(1 for r in state["invocations"] if r["error"] == "throttled") == 3


def test_the_scaling_rate_refills_continuously_and_never_accumulates() -> None:
    """1,000 execution environments every 10 seconds per function, refilled continuously, unused rate not kept."""
    from reweb.local.instances import BURST_CAPACITY, BURST_REFILL_PER_S, ScalingRate

    assert (BURST_CAPACITY, BURST_REFILL_PER_S) == (1000, 100.0)
    rate = ScalingRate(now=0.0)
    assert all(rate.take(0.0) for _ in range(1000))
    assert not rate.take(0.0)  # the 1,001st new environment within the same instant is throttled
    assert rate.take(0.01)  # a hundredth of a second later: one more (100 a second)
    assert not rate.take(0.01)
    assert all(rate.take(60.0) for _ in range(1000))  # a quiet minute refills to 1,000, not to 6,000
    assert not rate.take(60.0)


def _state(inst: Instance) -> State:
    """inst.state read through a call: a comparison of the attribute itself narrows it for mypy past the moves."""
    return inst.state


def test_an_instance_moves_only_through_the_table_and_its_death_says_why() -> None:
    import io

    from reweb.local.instances import IllegalMove, Instance, Pool
    from reweb.local.options import Options
    from reweb.local.report import Logger

    pool = Pool(Options(app_command=["app"]), Logger(io.StringIO()))
    seen: list[tuple[int, str, str]] = []
    pool.watchers.append(lambda inst, was, event: seen.append((inst.number, was, event)))
    inst = Instance(pool, 1, "request")
    pool.instances.append(inst)
    with pytest.raises(IllegalMove, match="'assign' in state 'init'"):
        inst.move("assign")  # an instance still in its init cannot take a request
    inst.move("ready")  # init done, nobody waiting for it: idle, then frozen (--freeze is the default)
    assert _state(inst) == "frozen" and seen == [(1, "init", "ready"), (1, "idle", "freeze")]
    inst.take()
    assert _state(inst) == "busy"
    with pytest.raises(IllegalMove):
        inst.move("freeze")  # never while it runs an invocation
    assert inst.die("killed: function timeout", "Sandbox.Timedout")
    assert _state(inst) == "dead" and inst.death is not None
    assert (inst.death.was, inst.death.reason, inst.death.error_type) == ("busy", "killed: function timeout",
                                                                          "Sandbox.Timedout")
    assert not inst.die("runtime exited: signal: killed")  # its exit, noticed after: the first reason stays
    assert inst.death.reason == "killed: function timeout" and pool.live == 0
    with pytest.raises(IllegalMove):
        inst.move("ready")
