"""A request that arrives while an instance has answered but not yet asked for more (its runtime's next
GET /2018-06-01/runtime/invocation/next), through a real reweb local and a runtime the test holds in that window:
the fake runtime's /hold-next answers, then calls /next only once the test creates its gate file. Every step waits
for an event (the dashboard's state, an answer), bounded in time; nothing is asserted of a duration.

The rule (docs/local.md, "Answered, not yet asking for more"): on Lambda the Invoke phase ends with the runtime's
/next, so until then the instance is busy. A request in that window takes an idle instance, else starts one while
the concurrency limit allows (as Lambda does: it scales rather than holding requests), else waits for the answered
instance's /next; that wait is bounded by the answered invocation's function timeout, when Lambda resets an
environment whose Invoke phase never ended (and the request gets the room it frees)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.http_client import Reply, fetch
from tests.support.localharness import FAKE_RUNTIME, Local, wait_state

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

Run = Callable[..., Local]


def details(doc: dict[str, Any]) -> dict[int, str]:
    return {i["number"]: i["detail"] for i in doc["instances"]}


def row(doc: dict[str, Any], path: str) -> dict[str, Any] | None:
    return next((r for r in doc["invocations"] if r["path"] == path), None)


def ask(local: Local, path: str) -> tuple[threading.Thread, list[Reply]]:
    """Send a request from a thread; its answer lands in the list."""
    got: list[Reply] = []
    asker = threading.Thread(target=lambda: got.append(fetch(local.port, path, timeout=60)), daemon=True)
    asker.start()
    return asker, got


def answered_and_held(run_local: Run, tmp_path: Path, *args: str) -> tuple[Local, Path]:
    gate = tmp_path / "gate"
    local = run_local(["--source", "http-api", *args], runtime=FAKE_RUNTIME, app=["unused"],
                      env={"FAKE_GATE": str(gate)})
    assert fetch(local.port, "/hold-next").status == 200  # the client has the whole answer...
    # ...and the instance is answered, not idle: its runtime has not asked for more.
    wait_state(local, lambda d: details(d) == {1: "answered: its runtime has not asked for more (/next)"})
    return local, gate


def test_at_the_limit_a_request_in_the_window_waits_for_the_next(run_local: Run, tmp_path: Path) -> None:
    local, gate = answered_and_held(run_local, tmp_path, "--concurrency", "1")
    asker, got = ask(local, "/echo")
    # The front door makes the row and asks the pool in one step of its event loop (a bodiless GET), and marks a
    # throttle in the same step: once the row shows, the pool has decided.
    doc = wait_state(local, lambda d: row(d, "/echo") is not None)
    pending = row(doc, "/echo")
    assert pending is not None and pending["status"] is None and pending["error"] != "throttled", pending
    assert details(doc) == {1: "answered: its runtime has not asked for more (/next)"}
    assert not got  # it waits: the instance is still in its window
    gate.touch()  # the runtime's /next: the instance is idle, and given to the request in line
    asker.join(timeout=60)
    assert got and got[0].status == 200, (got, "\n".join(local.lines))
    doc = wait_state(local, lambda d: (r := row(d, "/echo")) is not None and r["reported"])
    served = row(doc, "/echo")
    assert served is not None and (served["instance"], served["cold"]) == (1, False), served
    assert doc["summary"]["instances"] == 1 and local.count("throttled:") == 0


def test_with_room_a_request_in_the_window_starts_an_instance(run_local: Run, tmp_path: Path) -> None:
    local, gate = answered_and_held(run_local, tmp_path, "--concurrency", "2")
    # Served while instance 1 still holds its /next back (the gate stays shut): a cold start of its own.
    assert fetch(local.port, "/echo", timeout=60).status == 200
    doc = wait_state(local, lambda d: (r := row(d, "/echo")) is not None and r["reported"])
    served = row(doc, "/echo")
    assert served is not None and (served["instance"], served["cold"]) == (2, True), served
    assert details(doc)[1] == "answered: its runtime has not asked for more (/next)"
    gate.touch()
    wait_state(local, lambda d: d["instances"][0]["state"] == "frozen")  # its /next came: idle, frozen
    assert local.count("throttled:") == 0


def test_an_instance_that_never_asks_for_more_is_reset_at_its_timeout(run_local: Run, tmp_path: Path) -> None:
    """The wait is bounded: at the answered invocation's function timeout the Invoke phase is over for Lambda,
    which resets the environment; the request in line gets the room that frees (a cold start), not a throttle."""
    local, _ = answered_and_held(run_local, tmp_path, "--concurrency", "1", "--timeout", "3")
    asker, got = ask(local, "/echo")  # the gate is never opened
    asker.join(timeout=60)
    assert got and got[0].status == 200, (got, "\n".join(local.lines))
    doc = wait_state(local, lambda d: (r := row(d, "/echo")) is not None and r["reported"])
    served = row(doc, "/echo")
    assert served is not None and (served["instance"], served["cold"]) == (2, True), served
    assert details(doc)[1] == "killed: no /next within the function timeout (3 s) after its answer"
    assert local.count("throttled:") == 0
