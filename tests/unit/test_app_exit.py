"""How reweb tells a dying app from one that closed a connection and lives on (app._exiting): the kernel marks
a process as exiting before it closes its files, so the mark is there when the peer sees the close."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def test_a_process_whose_main_thread_ended_alone_is_not_exiting() -> None:
    """pthread_exit of the main thread: the leader is a zombie, the process serves on in its other threads."""
    code = ("import ctypes, threading, time, sys\n"
            "threading.Thread(target=lambda: (print('up', flush=True), time.sleep(30))).start()\n"
            "time.sleep(0.2)\n"
            "ctypes.CDLL(None).pthread_exit(None)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
        stat = Path(f"/proc/{child.pid}/stat")
        for _ in range(200):  # bounded: the main thread ends 0.2 s after "up"
            if stat.read_bytes().rpartition(b")")[2].split()[0] == b"Z":
                break
            time.sleep(0.05)
        assert stat.read_bytes().rpartition(b")")[2].split()[0] == b"Z", "the main thread did not end"
        assert not _exiting(child.pid)
    finally:
        child.kill()
        child.communicate(timeout=10)
