"""The one-file executable spawns a plain app from its C main(), before the interpreter starts, and reweb adopts
it (issue 21, point 3); anything else (flags, shell syntax, the pip build) is spawned by reweb itself, as before."""

from __future__ import annotations

import contextlib
import os
import signal
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
EXECUTABLE = bool(os.environ.get("REWEB_TEST_EXECUTABLE"))


def start_log(extra_args: list[str], command: str | None, port: int) -> str:
    """reweb's log up to its first GET /next (the app started and ready), and the app's parent."""
    runtime = socket.create_server(("127.0.0.1", 0))
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.getsockname()[1]}",
           "REWEB_APPLICATION_PORT": str(port)}
    if command is not None:
        env["REWEB_APPLICATION_EXEC"] = command
    process = subprocess.Popen([*reweb_argv(), *extra_args], env=env, stderr=subprocess.PIPE)
    try:
        runtime.settimeout(30)
        while True:  # the Extensions API is refused (404), then the first /next means init is done
            conn, _ = runtime.accept()
            data = conn.recv(65536)
            if b"/runtime/invocation/next" in data:
                conn.close()
                break
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            conn.close()
        assert socket.create_connection(("127.0.0.1", port), timeout=5)
    finally:
        process.kill()
        _, err = process.communicate(timeout=10)
        runtime.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and port_open(port):  # the lifeline takes the app down
        time.sleep(0.02)
    assert not port_open(port), "the app outlived reweb"
    return err.decode(errors="replace")


def started_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "app started" in line]


def started(log: str) -> str:
    lines = started_lines(log)
    assert len(lines) == 1, log
    return lines[0]


# A command that needs /bin/sh (`exec server ...`, shell syntax) is spawned by the executable's C main() as early as
# a plain one, as the very `/bin/sh -c COMMAND` that reweb.tree.command_argv gives, so reweb adopts it; a quoted
# plain command (split by shlex) is still left to Python.

@pytest.mark.skipif(not os.access("/bin/sh", os.X_OK), reason="no /bin/sh")
def test_a_command_for_the_shell_is_spawned_as_the_shell_command_reweb_would_run() -> None:
    port = free_port()
    line = started(start_log([], f"exec {sys.executable} {ECHO} {port}", port))
    assert ("early=true" in line) == EXECUTABLE, line
    assert f"command=/bin/sh -c exec {sys.executable} {ECHO} {port}" in line, line


@pytest.mark.skipif(not os.access("/bin/sh", os.X_OK), reason="no /bin/sh")
def test_shell_syntax_is_spawned_early_too() -> None:
    port = free_port()
    line = started(start_log([], f"PYTHONUNBUFFERED=1 {sys.executable} {ECHO} $REWEB_APPLICATION_PORT", port))
    assert ("early=true" in line) == EXECUTABLE and "command=/bin/sh -c PYTHONUNBUFFERED=1 " in line, line


def test_a_quoted_plain_command_is_left_to_python() -> None:
    port = free_port()
    line = started(start_log([], f"{sys.executable} '{ECHO}' {port}", port))
    assert "early" not in line and f"command={sys.executable} {ECHO} {port}" in line, line


def test_plain_command_is_spawned_before_python_in_the_executable() -> None:
    port = free_port()
    lines = started_lines(start_log([], f"{sys.executable} {ECHO} {port}", port))
    assert len(lines) == 1, lines
    assert ("early=true" in lines[0]) == EXECUTABLE, lines


def test_command_after_dashes_is_spawned_early_too() -> None:
    port = free_port()
    lines = started_lines(start_log(["--", sys.executable, str(ECHO), str(port)], None, port))
    assert len(lines) == 1, lines
    assert ("early=true" in lines[0]) == EXECUTABLE, lines


def test_flags_leave_the_spawn_to_python() -> None:
    port = free_port()
    lines = started_lines(start_log(["--debug"], f"{sys.executable} {ECHO} {port}", port))
    assert len(lines) == 1 and "early" not in lines[0], lines


WRONG_EARLY = """
import os, subprocess, sys
sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
print(sleeper.pid, flush=True)
os.environ["_REWEB_APP"] = f"{sleeper.pid}:0:{os.environ['REWEB_APPLICATION_PORT']}:sleep\\x1f60"
sys.argv = ["reweb"]
from reweb.cli import main
sys.exit(main())
"""


def test_an_early_app_other_than_the_configured_one_is_stopped_and_replaced() -> None:
    """What App.start does when _REWEB_APP names another command than the settings give: that process is stopped
    and the configured app spawned (run through the package, the path the executable's Python takes)."""
    runtime = socket.create_server(("127.0.0.1", 0))
    port = free_port()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.getsockname()[1]}",
           "REWEB_APPLICATION_PORT": str(port), "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}"}
    process = subprocess.Popen([sys.executable, "-c", WRONG_EARLY], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    sleeper = 0
    try:
        assert process.stdout is not None
        sleeper = int(process.stdout.readline())
        deadline = time.monotonic() + 30
        while not port_open(port) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert port_open(port), "the configured app never started"
        stat = Path(f"/proc/{sleeper}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "the wrong app runs on"
    finally:
        process.kill()
        _, err = process.communicate(timeout=10)
        runtime.close()
        with contextlib.suppress(OSError):
            if sleeper and b"sleep" in Path(f"/proc/{sleeper}/cmdline").read_bytes():
                os.kill(sleeper, signal.SIGKILL)  # left behind when the test fails
    lines = started_lines(err.decode(errors="replace"))
    assert len(lines) == 1 and "early" not in lines[0], lines
