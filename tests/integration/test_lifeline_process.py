"""The lifeline (the process that SIGKILLs the app's group when reweb dies): the app never sees how reweb found
it, and in the one-file executable it is the small process its C main() forked before Python, not a copy of
the interpreter (issue 21, point 4)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.echo import ECHO
from tests.support.net import port_open
from tests.support.rie import free_port
from tests.support.runtime import reweb_argv

pytestmark = pytest.mark.integration


def children_of(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def test_lifeline_is_a_separate_small_process() -> None:
    runtime = socket.create_server(("127.0.0.1", 0))  # accepts /next and never answers: reweb idles
    port = free_port()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.getsockname()[1]}",
           "REWEB_APPLICATION_PORT": str(port), "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}"}
    process = subprocess.Popen(reweb_argv(), env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not port_open(port) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert port_open(port), "the app never started"
        kids = children_of(process.pid)
        app = [pid for pid in kids if str(ECHO).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(app) == 1, kids
        # The lifeline: reweb's other child, in a session of its own.
        lifeline = [pid for pid in kids if pid not in app]
        assert len(lifeline) == 1, kids
        assert os.getsid(lifeline[0]) == lifeline[0]
        # How reweb adopted the lifeline is not the app's business.
        assert b"_REWEB_LIFELINE=" not in Path(f"/proc/{app[0]}/environ").read_bytes()
        if os.environ.get("REWEB_TEST_EXECUTABLE"):
            rss_kb = int(status(lifeline[0], "VmRSS").split()[0])
            assert rss_kb < 1024, f"the lifeline holds {rss_kb} KB: a fork of the interpreter?"
    finally:
        process.kill()
        process.wait(10)
        runtime.close()
