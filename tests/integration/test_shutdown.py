"""Lambda's shutdown, under the real RIE: SIGTERM reaches the runtime only when an extension registered.
reweb registers itself (internal extension, no events), so at shutdown the app gets SIGTERM and a short grace
that fits Lambda's 500 ms, then SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.rie import RieFunction, free_port
from tests.support.sigmask import thread_count, threads_taking
from tests.support.sigterm_app import APP

pytestmark = pytest.mark.integration

EVENT = {"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {"host": "x"},
         "requestContext": {"http": {"method": "GET", "path": "/"}, "stage": "$default"}}


def app_pid(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if len(cmdline) > 3 and cmdline[1].endswith(b"app.py") and cmdline[3] == str(port).encode():
                return int(entry.name)
    raise AssertionError("the app is not running")


@pytest.mark.parametrize("mode", ["graceful", "stubborn"])
def test_shutdown_gives_the_app_sigterm_then_sigkill(tmp_path: Path, mode: str) -> None:
    port = free_port()
    (tmp_path / "app.py").write_text(APP)
    marker = tmp_path / "marker"
    function = RieFunction({"REWEB_APPLICATION_EXEC": f"{sys.executable} {tmp_path / 'app.py'} {marker} {port} {mode}",
                            "REWEB_APPLICATION_PORT": str(port)})
    try:
        assert function.invoke(EVENT)["body"] == "ok"
        pid = app_pid(port)
        assert "could not register" not in function.logs()
        signalled = time.time()
        os.kill(function.process.pid, signal.SIGTERM)  # the RIE alone: it shuts the sandbox down
        function.process.wait(10)
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        gone = time.time()
        assert not Path(f"/proc/{pid}").exists(), "the app outlived the shutdown"
        assert marker.exists(), "the app never got SIGTERM: " + function.logs()
        assert float(marker.read_text().split()[1]) - signalled < 0.5
        if mode == "stubborn":  # SIGKILL after the grace, within Lambda's 500 ms
            assert 0.3 <= gone - signalled < 1.0, gone - signalled
        assert "shutting down signal=SIGTERM" in function.logs_with("shutting down")
    finally:
        function.close()


def test_only_the_main_thread_takes_the_shutdown_signals(tmp_path: Path) -> None:
    """Python runs handlers on the main thread only; a SIGTERM the kernel gave to the extension or reaper thread
    (blocked in recv or waitpid) would wait there until Lambda's SIGKILL, and the app would get no SIGTERM (seen
    in reweb local right after a thaw). Every other thread of reweb blocks SIGTERM and SIGINT."""
    port = free_port()
    (tmp_path / "app.py").write_text(APP)
    function = RieFunction({"REWEB_APPLICATION_EXEC": f"{sys.executable} {tmp_path / 'app.py'} "
                                                      f"{tmp_path / 'marker'} {port} graceful",
                            "REWEB_APPLICATION_PORT": str(port)})
    try:
        assert function.invoke(EVENT)["body"] == "ok"
        pid = function.reweb_pid()
        assert pid is not None, "reweb is not running under the RIE"
        assert thread_count(pid) >= 3  # main, the extension's event/next, the app's reaper
        assert threads_taking(pid, signal.SIGTERM) == [pid]
        assert threads_taking(pid, signal.SIGINT) == [pid]
    finally:
        function.close()


def test_init_completes_with_the_extension_registered() -> None:
    """A registered extension that never asks for its next event holds init forever: the first invoke would
    time out. It answers, so the event/next call is made."""
    port = free_port()
    function = RieFunction({"REWEB_APPLICATION_EXEC": f"{sys.executable} -m http.server {port} --bind 127.0.0.1",
                            "REWEB_APPLICATION_PORT": str(port)}, timeout_s=5)
    try:
        # A held init would end in the RIE's 5 s timeout (no statusCode): the answer is the proof, not a clock.
        status, body = function.invoke_raw(json.dumps(EVENT).encode(), timeout=30)
        assert status == 200 and json.loads(body)["statusCode"] == 200
    finally:
        function.close()
