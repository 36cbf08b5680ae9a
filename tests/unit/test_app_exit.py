"""How reweb tells a dying app from one that closed a connection and lives on (app._exiting): the kernel marks
a process as exiting before it closes its files, so the mark is there when the peer sees the close."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from reweb.app import EXIT_UNKNOWN, App, _exiting, describe_exit
from reweb.config import Settings
from reweb.log import Log


def test_a_live_process_is_not_exiting() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not _exiting(child.pid)
    finally:
        child.kill()
        child.wait(10)


def test_an_exited_process_not_yet_reaped_is_exiting() -> None:
    """The zombie is the child of a process that never waits (not of this one, and not of a shell, which reaps
    its jobs between commands): a reaper thread another test left in this process (an App's waits on any child)
    cannot take it away before it is looked at."""
    code = ("import os, sys, time\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os._exit(0)\n"
            "print(pid, flush=True)\n"
            "time.sleep(30)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        zombie = int(parent.stdout.readline())
        stat = Path(f"/proc/{zombie}/stat")
        for _ in range(200):  # bounded: `true` exits at once
            if stat.read_bytes().rpartition(b")")[2].split()[0] == b"Z":
                break
            time.sleep(0.05)
        assert stat.read_bytes().rpartition(b")")[2].split()[0] == b"Z", "the child did not exit"
        assert _exiting(zombie)
    finally:
        parent.kill()
        parent.communicate(timeout=10)
    for _ in range(200):  # its new parent (init or a subreaper) reaps it
        if not Path(f"/proc/{zombie}").exists():
            break
        time.sleep(0.05)
    assert _exiting(zombie)  # reaped: gone from /proc, so its exit has been seen


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


def test_a_reaped_pid_whose_status_fell_out_of_the_record_has_exited_without_a_wait() -> None:
    """More than 64 children reaped since: its status is gone from `exits`, but its exit is certain (the reaper
    records a status before the pid leaves /proc). No wait until the deadline: exited, status unknown."""
    app = App(Settings(application_exec="app"), Log("FATAL"))
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(10)  # reaped here; as far as `app` knows, its status fell out of the record
    app.exits = {pid: 0 for pid in range(1_000_000, 1_000_064)}
    assert app.exit_of(child.pid, 0.2, time.monotonic() + 10) == EXIT_UNKNOWN  # before: None, at the deadline
    assert describe_exit(EXIT_UNKNOWN) == "the app exited (its exit status is no longer known)"


def test_a_recorded_status_is_still_the_answer() -> None:
    app = App(Settings(application_exec="app"), Log("FATAL"))
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait(10)
    app.exits[child.pid] = 3
    assert app.exit_of(child.pid, 0.2, time.monotonic() + 30) == 3
