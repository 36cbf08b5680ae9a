"""Init of the one-file executable and of cli.run_adapter (issue 21, goal 3: an Init that reweb adds nothing to).

- cli.run_adapter runs init with the cyclic garbage collector off (it would walk the new modules and classes again
  and again) and, once init is done, freezes what init made and turns the collector back on.
- The executable's C main() spawns an app whose command needs /bin/sh (`exec server ...`, shell syntax) as early
  as a plain one, as the very `/bin/sh -c COMMAND` that reweb.tree.command_argv gives, so reweb adopts it; a quoted
  plain command (split by shlex) is still left to Python.
- Its modules are frozen into the executable; the SBOM still comes out of the zip appended to it.

The executable's tests run the file named by REWEB_TEST_EXECUTABLE, else dist/reweb-linux-x86_64 (scripts/build),
and are skipped when there is none.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reweb import cli
from reweb.local.ports import free_port
from tests.support.echo import ECHO
from tests.support.net import port_open

ROOT = Path(__file__).resolve().parents[2]
EXECUTABLE = Path(os.environ.get("REWEB_TEST_EXECUTABLE") or ROOT / "dist" / "reweb-linux-x86_64").resolve()
needs_executable = pytest.mark.skipif(not EXECUTABLE.is_file(), reason=f"no executable at {EXECUTABLE}")


# -- the garbage collector during init -------------------------------------------------------------------------

class _Stop(Exception):
    pass


@pytest.fixture
def collector() -> Iterator[None]:
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    yield
    gc.unfreeze()
    gc.enable()
    signal.signal(signal.SIGTERM, handlers[0])
    signal.signal(signal.SIGINT, handlers[1])


def test_init_runs_without_the_collector_and_the_invocations_with_it(monkeypatch: pytest.MonkeyPatch,
                                                                    collector: None) -> None:
    seen: dict[str, bool] = {}
    for step in ("read_settings", "start_app", "make_adapter", "wait_for_app", "snapshot"):
        monkeypatch.setattr(cli._Init, step, lambda self, step=step: seen.setdefault(step, gc.isenabled()))

    class Adapter:
        def run(self) -> int:
            seen["run"] = gc.isenabled()
            seen["frozen"] = gc.get_freeze_count() > 0
            raise _Stop

    class App:
        def stop(self, grace: float) -> None:
            pass

    monkeypatch.setattr(cli._Init, "adapter", Adapter(), raising=False)
    monkeypatch.setattr(cli._Init, "app", App(), raising=False)
    gc.unfreeze()
    with pytest.raises(_Stop):
        cli.run_adapter(["--", "app"])
    assert seen == {"read_settings": False, "start_app": False, "make_adapter": False, "wait_for_app": False,
                    "snapshot": False, "run": True, "frozen": True}


def test_a_failed_init_turns_the_collector_back_on(monkeypatch: pytest.MonkeyPatch, collector: None) -> None:
    def fail(self: cli._Init) -> None:
        raise cli.InitFailure("", "", status=3)

    monkeypatch.setattr(cli._Init, "read_settings", fail)
    assert cli.run_adapter(["--", "app"]) == 3
    assert gc.isenabled()


# -- the executable ----------------------------------------------------------------------------------------------

def _start_log(command: str, port: int) -> str:
    """The executable's log up to its first GET /next, the Extensions API refused; the app is then gone."""
    runtime = socket.create_server(("127.0.0.1", 0))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REWEB_APPLICATION_PORT": str(port),
           "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.getsockname()[1]}", "REWEB_APPLICATION_EXEC": command}
    process = subprocess.Popen([str(EXECUTABLE)], env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        runtime.settimeout(30)
        while True:
            conn, _ = runtime.accept()
            data = conn.recv(65536)
            if b"/runtime/invocation/next" in data:
                conn.close()
                break
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            conn.close()
        assert port_open(port), "the app is not listening at the first /next"
    finally:
        process.kill()
        _, err = process.communicate(timeout=10)
        runtime.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and port_open(port):  # the lifeline takes the app down
        time.sleep(0.02)
    assert not port_open(port), "the app outlived reweb"
    return err.decode(errors="replace")


def _started(log: str) -> str:
    lines = [line for line in log.splitlines() if "app started" in line]
    assert len(lines) == 1, log
    return lines[0]


@needs_executable
@pytest.mark.skipif(not os.access("/bin/sh", os.X_OK), reason="no /bin/sh")
def test_a_command_for_the_shell_is_spawned_before_python_as_the_shell_command_reweb_would_run() -> None:
    port = free_port()
    line = _started(_start_log(f"exec {sys.executable} {ECHO} {port}", port))
    assert "early=true" in line and f"command=/bin/sh -c exec {sys.executable} {ECHO} {port}" in line, line


@needs_executable
@pytest.mark.skipif(not os.access("/bin/sh", os.X_OK), reason="no /bin/sh")
def test_shell_syntax_is_spawned_early_too() -> None:
    port = free_port()
    line = _started(_start_log(f"PYTHONUNBUFFERED=1 {sys.executable} {ECHO} $REWEB_APPLICATION_PORT", port))
    assert "early=true" in line and "command=/bin/sh -c PYTHONUNBUFFERED=1 " in line, line


@needs_executable
def test_a_quoted_plain_command_is_left_to_python() -> None:
    port = free_port()
    line = _started(_start_log(f"{sys.executable} '{ECHO}' {port}", port))
    assert "early" not in line and f"command={sys.executable} {ECHO} {port}" in line, line


@needs_executable
def test_the_executable_still_prints_its_sbom() -> None:
    done = subprocess.run([str(EXECUTABLE), "--version", "--verbose"], capture_output=True, text=True, timeout=30,
                          env={}, check=True)
    first, _, rest = done.stdout.partition("\n")
    assert first.startswith("reweb ") and json.loads(rest)["bomFormat"] == "CycloneDX"
