"""The app never outlives reweb: SIGTERM stops it cleanly, and even SIGKILL of reweb takes the app along."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.init_error import ECHO, InitErrorApi
from tests.support.net import port_open
from tests.support.rie import RieFunction, free_port
from tests.support.runtime import reweb_argv

pytestmark = pytest.mark.integration


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_app_does_not_outlive_reweb(sig: signal.Signals) -> None:
    runtime = socket.create_server(("127.0.0.1", 0))  # accepts /next and never answers: reweb idles
    port = free_port()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.getsockname()[1]}",
           "REWEB_APPLICATION_PORT": str(port), "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}"}
    process = subprocess.Popen(reweb_argv(), env=env, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: port_open(port), 30), "the app never started"
        process.send_signal(sig)
        process.wait(10)
        assert wait_for(lambda: not port_open(port), 30), f"the app outlived reweb after {sig.name}"
    finally:
        if process.poll() is None:
            process.kill()
        runtime.close()


def grandchildren_of(pid: int) -> list[int]:
    from reweb.tree import descendants

    return descendants(pid)


@pytest.mark.parametrize("wrapped", ["direct", "wrapper"])
def test_sigkill_of_reweb_takes_the_whole_tree(wrapped: str) -> None:
    """With a wrapper (a compound command: sh stays the parent), the server is a grandchild: only the lifeline
    process, not a parent-death signal, can take it down when reweb is SIGKILLed (as the RIE does on reset)."""
    runtime = socket.create_server(("127.0.0.1", 0))
    port = free_port()
    command = f"{sys.executable} {ECHO} {port}" + ("; echo the server stopped" if wrapped == "wrapper" else "")
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.getsockname()[1]}",
           "REWEB_APPLICATION_PORT": str(port), "REWEB_APPLICATION_EXEC": command}
    process = subprocess.Popen(reweb_argv(), env=env, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: port_open(port), 30), "the app never started"
        tree = grandchildren_of(process.pid)
        server = [pid for pid in tree if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(
            f"{sys.executable}\0{ECHO}".encode())]
        assert server, tree
        if wrapped == "wrapper":
            assert Path(f"/proc/{server[0]}/stat").read_text().rsplit(")", 1)[1].split()[1] != str(process.pid)
        process.kill()
        process.wait(10)
        assert wait_for(lambda: not port_open(port), 30), "the app's server outlived reweb's SIGKILL"
        assert wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in tree), 30), "a process survived"
    finally:
        if process.poll() is None:
            process.kill()
        runtime.close()


def test_a_port_held_before_the_start_is_an_init_error_naming_the_holder(init_api: InitErrorApi) -> None:
    port = free_port()
    holder = socket.create_server(("127.0.0.1", port))  # this test process holds it
    try:
        code, error_type, message = init_api.init_error({"REWEB_APPLICATION_PORT": str(port),
                                                         "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}"})
    finally:
        holder.close()
    assert code == 1 and error_type == "Runtime.AppStartError"
    assert f"port {port} is already in use by pid {os.getpid()}" in message


@pytest.mark.parametrize(("command", "expected"), [
    ("no-such-command-here --port 8080", "no such command on PATH: no-such-command-here"),
    ("/etc/os-release", "/etc/os-release is not executable"),
    (f"{ECHO}x 1", f"no such command: {ECHO}x"),
])
def test_a_command_that_cannot_start_is_a_one_line_init_error(init_api: InitErrorApi, command: str,
                                                              expected: str) -> None:
    code, error_type, message = init_api.init_error({"REWEB_APPLICATION_PORT": str(free_port()),
                                                     "REWEB_APPLICATION_EXEC": command})
    assert code == 1 and error_type == "Runtime.AppStartError"
    assert expected in message and "\n" not in message


def test_a_binary_for_another_architecture_is_named(init_api: InitErrorApi, tmp_path: Path) -> None:
    foreign = tmp_path / "server"
    elf = bytearray(Path("/bin/true").read_bytes())
    elf[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
    foreign.write_bytes(bytes(elf))
    foreign.chmod(0o755)
    _code, _error_type, message = init_api.init_error({"REWEB_APPLICATION_PORT": str(free_port()),
                                                       "REWEB_APPLICATION_EXEC": str(foreign)})
    assert "not an executable for this machine" in message


# reweb with its reaper slowed down: every exit is seen 1 s after it happens, as when a loaded machine runs
# the reaper thread late. The kernel marks a dying process as exiting before it closes its sockets, so the
# crash is still named precisely, not taken for an app that closed the connection.
LATE_REAPER = """import os, runpy, time
real_waitpid = os.waitpid
def late_waitpid(*args):
    result = real_waitpid(*args)
    time.sleep(1.0)
    return result
os.waitpid = late_waitpid
runpy.run_module("reweb", run_name="__main__")
"""


@pytest.mark.skipif(bool(os.environ.get("REWEB_TEST_EXECUTABLE")), reason="patches the package's os.waitpid")
def test_a_crash_is_named_however_late_its_exit_is_seen() -> None:
    port = free_port()
    function = RieFunction({"REWEB_APPLICATION_PORT": str(port),
                            "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}"},
                           command=[sys.executable, "-c", LATE_REAPER])
    try:
        def event(path: str) -> dict[str, object]:
            return {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"host": "x"},
                    "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}}

        crashed = function.invoke(event("/crash"))
        assert crashed["statusCode"] == 502, function.logs()
        assert crashed["body"].startswith("reweb: the app exited with status 3 while handling GET /crash"), crashed
        after = function.invoke(event("/after"))
        assert after["statusCode"] == 200, function.logs()  # restarted before the next invocation
        assert json.loads(after["body"])["path"] == "/after"
    finally:
        function.close()


def test_an_escaped_server_is_stopped_before_the_restart() -> None:
    """The wrapper starts the server in a session of its own and exits: the server is re-parented to reweb
    (child subreaper). Before the app starts again, it is found and stopped, so the new one gets the port."""
    port = free_port()
    function = RieFunction({"REWEB_APPLICATION_PORT": str(port),
                            "REWEB_APPLICATION_EXEC": f"setsid {sys.executable} {ECHO} {port} & sleep 1; exit 3"})
    try:
        event = {"version": "2.0", "rawPath": "/pid", "rawQueryString": "", "headers": {"host": "x"},
                 "requestContext": {"http": {"method": "GET", "path": "/pid"}, "stage": "$default"}}
        # Until reweb has seen the wrapper exit (1 s after its start, however late a loaded machine shows it),
        # the escaped server answers; the invocation after that restarts the app. Every one answers 200.
        for _ in range(60):
            assert function.invoke(event)["statusCode"] == 200, function.logs()
            if "restarting the app" in function.logs():
                break
            time.sleep(0.25)
        logs = function.logs_with("restarting the app")
        assert "restarting the app" in logs and "Address already in use" not in logs
        assert "app is ready" in logs
    finally:
        function.close()


def test_an_app_never_ready_fails_init_at_the_readiness_timeout(init_api: InitErrorApi) -> None:
    started = time.monotonic()
    code, error_type, message = init_api.init_error({"REWEB_APPLICATION_PORT": str(free_port()),
                                                     "REWEB_APPLICATION_EXEC": "sleep 30",
                                                     "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS": "1"})
    assert code == 1 and error_type == "Runtime.AppNotReady"
    assert "not ready after 1 s" in message and "last check: connect" in message
    assert time.monotonic() - started < 25  # at the readiness timeout, not when the app's 30 s are over


def test_an_app_on_another_loopback_address() -> None:
    port = free_port()
    function = RieFunction({"AWS_LWA_HOST": "127.0.0.2", "REWEB_APPLICATION_PORT": str(port),
                            "REWEB_APPLICATION_EXEC": f"{sys.executable} -m http.server {port} --bind 127.0.0.2"})
    try:
        event = {"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {"host": "x"},
                 "requestContext": {"http": {"method": "GET", "path": "/"}, "stage": "$default"}}
        assert function.invoke(event)["statusCode"] == 200, function.logs()
    finally:
        function.close()


STANDBY = Path(__file__).resolve().parent.parent / "support" / "standby_app.py"


def test_a_request_that_killed_the_app_is_not_sent_again(tmp_path: Path) -> None:
    """A GET on a kept-alive connection that closes without a byte of answer is sent again once (the app may have
    closed the idle connection as it went out), but not when the app is exiting: that request killed it, and a
    second copy would reach whatever listens on the port next (here the app's standby; after a restart, the new
    app, dead of it too)."""
    port = free_port()
    log = tmp_path / "requests.log"
    function = RieFunction({"REWEB_APPLICATION_PORT": str(port), "REWEB_WAIT_PATH": "/ready",
                            "REWEB_APPLICATION_EXEC": f"{sys.executable} {STANDBY} {port} {log}"})
    try:
        def event(path: str) -> dict[str, object]:
            return {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"host": "x"},
                    "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}}

        assert function.invoke(event("/first"))["statusCode"] == 200, function.logs()  # the connection is kept
        crashed = function.invoke(event("/crash"))
        assert crashed["statusCode"] == 502, function.logs()
        assert crashed["body"].startswith("reweb: the app exited with status 3 while handling GET /crash"), crashed
        received = log.read_text().splitlines()
        assert received.count("parent /crash") == 1 and "standby /crash" not in received, received
    finally:
        function.close()
