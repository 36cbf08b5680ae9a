"""Instances as Lambda runs them: scale-out, queueing, no mixed-up answers, freezing, reaping, clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reweb.local.ports import free_port
from tests.support.http_client import fetch
from tests.support.localharness import Local, alive, descendants, start_local

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]  # every test starts processes

Run = Callable[..., Local]


def test_parallel_clients_scale_out_to_the_limit_and_get_their_own_answers(run_local: Run) -> None:
    local = run_local(["--source", "http-api", "--concurrency", "3"])
    clients = 12

    def one(i: int) -> tuple[int, int, bytes, str | None]:
        r = fetch(local.port, f"/text?id=client-{i}&sleep=0.3")
        return i, r.status, r.body, r.one("x-request-echo")

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(clients)))
    # Past the limit Lambda throttles (HTTP API answers 500) where reweb local used to queue: each client gets its
    # own answer or the throttle, never another's.
    served = 0
    for i, status, body, echo in results:
        if status == 200:
            served += 1
            assert body == f"hello client-{i}".encode() and echo == f"client-{i}"
        else:
            assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert served >= 3
    local.wait_for("REPORT RequestId", count=served)
    # Every instance was busy at once, so it scaled out; never beyond the limit.
    assert local.count("Init Duration") == 3
    assert local.count("START RequestId") == served


def test_frozen_instance_runs_nothing_between_invocations(run_local: Run) -> None:
    frozen = run_local(["--concurrency", "1"])
    fetch(frozen.port, "/ticks")
    time.sleep(1.0)  # idle time whose ticks we count (the thread ticks every 10 ms when it runs)
    assert int(fetch(frozen.port, "/ticks").body) < 20
    thawed = run_local(["--concurrency", "1", "--no-freeze"])
    fetch(thawed.port, "/ticks")
    time.sleep(1.0)
    assert int(fetch(thawed.port, "/ticks").body) > 50


def test_idle_instances_are_reaped(run_local: Run) -> None:
    local = run_local(["--idle-ttl", "1"])
    assert fetch(local.port, "/text").status == 200
    tree = descendants(local.proc.pid)
    assert tree
    local.wait_for("idle for 1s, shut down")
    deadline = time.monotonic() + 10
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in tree)
    assert fetch(local.port, "/text").status == 200  # and a new one cold-starts
    local.wait_for("Init Duration", count=2)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stop_leaves_no_process_behind(sig: signal.Signals) -> None:
    local = start_local(["--concurrency", "3"])
    with ThreadPoolExecutor(3) as pool:  # three instances, three apps, one of them busy at stop time
        list(pool.map(lambda i: fetch(local.port, f"/text?sleep=0.3&id={i}"), range(3)))
    busy = ThreadPoolExecutor(1).submit(fetch, local.port, "/sleep?s=20")
    local.wait_for("START RequestId", count=4)
    tree = descendants(local.proc.pid)
    assert len(tree) >= 6  # 3 x (reweb + app)
    assert local.stop(sig) == 0
    deadline = time.monotonic() + 5
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [p for p in tree if alive(p)]
    assert not left, f"left behind: {left}"
    # The client caught mid-invocation is not left hanging: an error answer or a closed connection.
    with contextlib.suppress(ConnectionError, OSError):
        assert busy.result(timeout=10).status >= 500


def _stopped(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:].split()[0] == b"T"


@pytest.mark.parametrize("network", ["isolated", "shared"])
@pytest.mark.parametrize("how", ["terminal closed", "SIGKILL"])
def test_instances_die_with_reweb_local(how: str, network: str) -> None:
    """Frozen instances (reweb, its lifeline, the app: all stopped) and a busy one must not outlive `reweb local`,
    whether its terminal is closed (SIGHUP) or it is SIGKILLed; with --network shared a frozen app would keep
    the app's port and the next `reweb local` could not start its app."""
    app_port = free_port()
    local = start_local(["--network", network, "--concurrency", "3", "--app-port", str(app_port)],
                        terminal=how == "terminal closed")
    instances = 3 if network == "isolated" else 1  # shared: one instance at a time
    frozen_instances = 2 if network == "isolated" else 1
    busy_client = ThreadPoolExecutor(1)
    try:
        for wave in range(5):  # parallel clients until the pool has scaled out
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda i: fetch(local.port, f"/text?sleep=0.5&id={i}"), range(3)))
            local.wait_for("REPORT RequestId", count=3 * (wave + 1))  # each answer's REPORT (and Init) is logged
            if local.count("Init Duration") >= instances:
                break
        assert local.count("Init Duration") == instances
        if network == "isolated":  # one of them busy when the end comes
            busy_client.submit(fetch, local.port, "/sleep?s=30")
            local.wait_for("START RequestId", count=local.count("START RequestId") + 1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # reweb, lifeline and app of each idle instance are stopped
            stopped = [pid for pid in descendants(local.proc.pid) if _stopped(pid)]
            if len(stopped) >= 3 * frozen_instances:
                break
            time.sleep(0.05)
        assert len(stopped) >= 3 * frozen_instances, local.lines
        if how == "SIGKILL":
            local.remember_tree()
            local.proc.kill()
            local.proc.wait(timeout=10)
        else:
            local.hang_up()
            assert local.proc.wait(timeout=20) == 0  # stopped as by Ctrl-C, though its terminal is gone
        tree = sorted(local.seen)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in tree if alive(p)]
        assert not left, f"left behind after {how}: {[(p, _cmdline(p)) for p in left]}"
    finally:
        if local.proc.poll() is None:
            local.stop()
        for pid in local.seen:  # only what this test started, found by parent links from reweb local
            if alive(pid):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        busy_client.shutdown(wait=False)
    if network == "shared":  # the app's port is free: the next `reweb local` starts its app there
        again = start_local(["--network", "shared", "--app-port", str(app_port)])
        try:
            r = fetch(again.port, "/text?id=again")
            assert (r.status, r.body) == (200, b"hello again"), again.lines
        finally:
            again.stop()


def test_a_reset_instance_takes_the_apps_grandchildren_with_it() -> None:
    """The app started by a wrapper (a compound command: the server is reweb's grandchild). An instance over
    its memory limit is SIGKILLed as Lambda does; the server must go with it, not keep its port."""
    from tests.support.localharness import WEBAPP

    hog = f"{sys.executable} -c 'import time; time.sleep(2); x = bytearray(300 << 20); time.sleep(60)'"
    wrapper = ["/bin/sh", "-c", " ".join(WEBAPP) + f" & {hog}; wait"]
    local = start_local(["--memory", "128", "--concurrency", "1"], app=wrapper)
    try:
        busy = ThreadPoolExecutor(1).submit(fetch, local.port, "/sleep?s=20")
        local.wait_for("START RequestId")
        before = descendants(local.proc.pid)
        servers = [pid for pid in before if b"webapp.py" in _cmdline(pid) and not _cmdline(pid).startswith(b"/bin/sh")]
        assert servers, before
        local.wait_for("Runtime.OutOfMemory")
        with contextlib.suppress(ConnectionError, OSError):
            busy.result(timeout=10)
        deadline = time.monotonic() + 5
        while any(alive(p) for p in before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in before if alive(p)], "the old instance's tree outlived its reset"
    finally:
        local.stop()


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_a_reaped_instance_shuts_down_as_lambda_does(tmp_path: Path) -> None:
    """reweb registers as an extension, so the emulator (as Lambda) sends SIGTERM at shutdown and allows
    500 ms: the app's SIGTERM handler runs."""
    from tests.support.sigterm_app import APP

    (tmp_path / "app.py").write_text(APP)
    marker = tmp_path / "marker"
    port = str(free_port())
    local = start_local(["--idle-ttl", "1"], app=[sys.executable, str(tmp_path / "app.py"), str(marker), port,
                                                  "graceful"], env={"REWEB_APPLICATION_PORT": port})
    try:
        assert fetch(local.port, "/").status == 200
        local.wait_for("idle for 1s, shut down")
        deadline = time.monotonic() + 5
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the app got no SIGTERM at shutdown; reweb local's log:\n" + "\n".join(local.lines)
    finally:
        local.stop()


def test_an_app_that_ignores_sigterm_is_killed_after_the_shutdown_phase(tmp_path: Path) -> None:
    """The other side of the shutdown phase: an app that notes SIGTERM and goes on is SIGKILLed with its instance
    once the phase is over, and nothing of the instance is left."""
    from tests.support.sigterm_app import APP

    (tmp_path / "app.py").write_text(APP)
    port = str(free_port())
    local = start_local(["--idle-ttl", "1"],
                        app=[sys.executable, str(tmp_path / "app.py"), str(tmp_path / "marker"), port, "stubborn"],
                        env={"REWEB_APPLICATION_PORT": port})
    try:
        assert fetch(local.port, "/").status == 200
        apps = [pid for pid in descendants(local.proc.pid) if b"app.py" in _cmdline(pid)]
        assert apps, descendants(local.proc.pid)
        local.wait_for("idle for 1s, shut down")
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in apps) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in apps if alive(pid)], "the app outlived its instance's shutdown"
        assert local.proc.poll() is None  # reweb local goes on
    finally:
        local.stop()
