"""How reweb tells a dying app from one that closed a connection and lives on (app._exiting): the kernel marks
a process as exiting before it closes its files, so the mark is there when the peer sees the close."""

from __future__ import annotations

import os
import subprocess
import sys

from reweb.app import _exiting


def test_a_live_process_is_not_exiting() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not _exiting(child.pid)
    finally:
        child.kill()
        child.wait(10)


def test_an_exited_process_not_yet_reaped_is_exiting() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # it has exited; still a zombie (not reaped)
    try:
        assert _exiting(child.pid)
    finally:
        child.wait(10)
    assert _exiting(child.pid)  # reaped: gone from /proc, so its exit has been seen
