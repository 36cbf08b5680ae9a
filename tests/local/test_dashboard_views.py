"""The dashboard's views from a sequence of events, in process: the pool's (an instance starts, moves, dies), the
front door's (a request starts, is answered, is throttled) and the REPORT lines. No process, no socket."""

from __future__ import annotations

import io
from typing import Any

from reweb.local.dashboard import Dashboard
from reweb.local.instances import Instance, Pool
from reweb.local.options import Options
from reweb.local.report import Logger
from reweb.local.rows import DEAD_KEPT


def a_dashboard(**opts: Any) -> tuple[Dashboard, Pool, Logger]:
    options = Options(app_command=["app"], **opts)
    log = Logger(io.StringIO())
    pool = Pool(options, log)
    return Dashboard(options, pool, log, serve=False), pool, log


def start(pool: Pool, number: int) -> Instance:
    """What Pool._spawn does before the process starts: the instance joins the pool and on_start is told."""
    inst = Instance(pool, number, "request")
    pool.instances.append(inst)
    for started in pool.on_start:
        started(inst)
    return inst


def shown(dash: Dashboard) -> list[tuple[int, str, str, int]]:
    return [(i["number"], i["state"], i["detail"], i["invocations"]) for i in dash.state()["instances"]]


def test_an_instance_through_its_life_as_the_dashboard_shows_it() -> None:
    dash, pool, log = a_dashboard()
    inst = start(pool, 1)
    [(number, state, detail, invocations)] = shown(dash)
    assert (number, state, invocations) == (1, "initializing", 0) and detail.endswith(" s into init")
    assert dash.state()["live_instances"] == 1 and dash.state()["summary"]["instances"] == 1

    row = dash.stats.request_started("r1", "GET", "/a?b=c")
    assert row.view()["status"] is None and not row.view()["answered"]
    inst.init_ms = 120.0
    inst.move("ready")  # nobody waits for it: idle, then frozen
    [(_, state, detail, _)] = shown(dash)
    assert state == "frozen" and "SIGSTOPped until the next invocation" in detail
    inst.take()
    assert shown(dash) == [(1, "warm", "invoking", 1)]

    log.report("r1", duration_ms=10.4, memory_mb=1024, max_used_mb=60, init_ms=120.0, instance=1)
    dash.stats.request_answered("r1", 200, 140.0)
    inst.move("done")
    [view] = [r for r in dash.state()["invocations"] if r["id"] == "r1"]
    assert {k: view[k] for k in ("method", "path", "status", "answered", "latency_ms", "duration_ms", "billed_ms",
                                 "max_used_mb", "init_ms", "cold", "instance", "error", "invoked")} == {
        "method": "GET", "path": "/a?b=c", "status": 200, "answered": True, "latency_ms": 140.0,
        "duration_ms": 10.4, "billed_ms": 131, "max_used_mb": 60, "init_ms": 120.0, "cold": True, "instance": 1,
        "error": None, "invoked": True}

    inst.die("killed: function timeout", "Sandbox.Timedout")
    assert shown(dash) == [(1, "dead", "killed: function timeout", 1)]
    doc = dash.state()
    assert doc["live_instances"] == 0
    summary = doc["summary"]
    assert (summary["invocations"], summary["cold_starts"], summary["errors"], summary["billed_ms"]) == (1, 1, 0, 131)


def test_a_request_handed_back_before_its_invocation_is_not_counted() -> None:
    dash, pool, _ = a_dashboard()
    inst = start(pool, 1)
    inst.move("ready")
    inst.take()
    inst.move("release")  # its request gave up (the gateway timed out) before the invocation began
    [(_, state, _, invocations)] = shown(dash)
    assert (state, invocations) == ("frozen", 0)


def test_without_freeze_an_idle_instance_is_warm_and_says_so() -> None:
    dash, pool, _ = a_dashboard(freeze=False)
    start(pool, 1).move("ready")
    [(_, state, detail, _)] = shown(dash)
    assert state == "warm" and detail.startswith("idle ") and detail.endswith(" (--no-freeze)")


def test_a_throttle_and_a_failure_are_rows_with_their_error() -> None:
    dash, _, log = a_dashboard()
    dash.stats.request_started("t", "GET", "/busy")
    dash.throttled("t")
    dash.stats.request_started("e", "POST", "/boom")
    log.report("e", duration_ms=1000.0, memory_mb=1024, max_used_mb=70, status="timeout", instance=3)
    rows = {r["id"]: r for r in dash.state()["invocations"]}
    assert (rows["t"]["error"], rows["t"]["invoked"], rows["t"]["instance"]) == ("throttled", False, None)
    assert (rows["e"]["error"], rows["e"]["lambda_status"], rows["e"]["instance"]) == ("Sandbox.Timedout", "timeout",
                                                                                      3)
    summary = dash.state()["summary"]
    assert (summary["requests"], summary["throttles"], summary["invocations"], summary["errors"]) == (2, 1, 1, 1)
    # The front door saying the same failure again counts it once.
    dash.stats.failed("e", "Sandbox.Timedout")
    assert dash.state()["summary"]["errors"] == 1


def test_since_sends_only_rows_changed_after_it_and_everything_to_a_client_from_before_a_restart() -> None:
    dash, _, _ = a_dashboard()
    dash.stats.request_started("a", "GET", "/a")
    dash.stats.request_started("b", "GET", "/b")
    version = dash.state()["version"]
    dash.stats.request_answered("a", 200, 5.0)
    later = dash.state(version)
    assert [r["id"] for r in later["invocations"]] == ["a"] and later["since"] == version
    future = dash.state(version + 1000)
    assert future["since"] == 0 and [r["id"] for r in future["invocations"]] == ["a", "b"]


def test_only_the_last_dead_instances_are_kept() -> None:
    dash, pool, _ = a_dashboard()
    for number in range(1, DEAD_KEPT + 6):
        start(pool, number).die("shut down")
    numbers = [i["number"] for i in dash.state()["instances"]]
    assert numbers == list(range(6, DEAD_KEPT + 6))
    alive = start(pool, DEAD_KEPT + 6)
    assert [i["state"] for i in dash.state()["instances"]][-1] == "initializing" and alive.state == "init"


def test_the_config_and_prices_the_page_is_given() -> None:
    dash, pool, _ = a_dashboard(memory=512, source="alb", region="eu-west-1")
    state = dash.state()
    assert {k: state["config"][k] for k in ("source", "memory_mb", "region", "app")} == {
        "source": "alb", "memory_mb": 512, "region": "eu-west-1", "app": "app"}
    assert state["config"]["concurrency"] == pool.concurrency
    assert state["prices"]["region"] == "us-east-1" and state["prices"]["per_million_requests"] == 0.20
