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

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.http_client import Reply, fetch
from tests.support.localharness import FAKE_RUNTIME, Local, state, wait_state

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
    # One instance's log, in Lambda's order: the held invocation's END and REPORT (written at its /next) come
    # before the START of the request that waited for that /next. The dashboard can say "reported" before this
    # test's reader has the line from the pipe: wait for the second REPORT itself.
    local.wait_for("REPORT RequestId:", count=2)
    kinds = [line.split(" RequestId")[0] for line in local.lines if " RequestId: " in line
             and line.startswith(("START", "END", "REPORT"))]
    assert kinds == ["START", "END", "REPORT", "START", "END", "REPORT"], "\n".join(local.lines)


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


def test_the_window_is_billed_end_and_report_come_at_the_next(run_local: Run, tmp_path: Path) -> None:
    """END and REPORT come when the Invoke phase ends, at the runtime's /next, and Duration runs to there (as
    Lambda bills it, and as the RIE reports it). The only figure asserted is a lower bound that follows from the
    order of events: the test holds the /next back for at least HELD seconds after the client has its answer."""
    held = 0.6
    local, gate = answered_and_held(run_local, tmp_path, "--concurrency", "1")
    # The instance is answered (the dashboard says so): no END, no REPORT yet, the row not reported.
    doc = state(local)
    answered = row(doc, "/hold-next")
    assert answered is not None and not answered["reported"], answered
    assert (local.count("END RequestId:"), local.count("REPORT RequestId:")) == (0, 0), "\n".join(local.lines)
    time.sleep(held)
    gate.touch()  # the runtime's /next: the Invoke phase ends
    local.wait_for("REPORT RequestId:")
    report = next(line for line in local.lines if "REPORT RequestId:" in line)
    duration = re.search(r"\tDuration: ([0-9.]+) ms", report)
    assert duration is not None and float(duration[1]) >= held * 1000, report
    assert "Status:" not in report, report  # a success: the window is no error
    doc = wait_state(local, lambda d: (r := row(d, "/hold-next")) is not None and r["reported"])
    assert details(doc) != {1: "answered: its runtime has not asked for more (/next)"}


def test_a_reset_in_the_window_is_reported_as_a_timeout(run_local: Run, tmp_path: Path) -> None:
    """No /next by the function timeout: the REPORT says `Status: timeout` with the timeout as its Duration."""
    local, _ = answered_and_held(run_local, tmp_path, "--concurrency", "1", "--timeout", "2")
    local.wait_for("REPORT RequestId:", timeout=30)
    report = next(line for line in local.lines if "REPORT RequestId:" in line)
    assert "\tDuration: 2000.00 ms" in report and "Status: timeout" in report, report


def test_an_exit_after_the_answer_is_an_error_of_that_invocation(run_local: Run) -> None:
    """A runtime that answers, then exits before its /next: the client keeps its 200, and the Invoke phase ends
    in an error, as the RIE has it ("Invoke DONE failed: Runtime.ExitError", then a reset): the REPORT says
    `Status: error` with `Error Type: Runtime.ExitError`, and the next request starts another instance."""
    local = run_local(["--source", "http-api", "--concurrency", "1"], runtime=FAKE_RUNTIME, app=["unused"])
    assert fetch(local.port, "/exit-after-answer").status == 200
    local.wait_for("REPORT RequestId:")
    report = next(line for line in local.lines if "REPORT RequestId:" in line)
    assert "\tStatus: error\tError Type: Runtime.ExitError" in report, "\n".join(local.lines)
    assert fetch(local.port, "/echo", timeout=60).status == 200
    doc = wait_state(local, lambda d: (r := row(d, "/echo")) is not None and r["reported"])
    served = row(doc, "/echo")
    assert served is not None and (served["instance"], served["cold"]) == (2, True), served
    assert local.count("throttled:") == 0
