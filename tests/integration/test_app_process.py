"""The app never outlives reweb: SIGTERM stops it cleanly, and even SIGKILL of reweb takes the app along."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.rie import free_port

pytestmark = pytest.mark.integration
ECHO = Path(__file__).resolve().parent.parent / "support" / "echo_app.py"


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


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
    process = subprocess.Popen([sys.executable, "-m", "reweb"], env=env, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: port_open(port), 10), "the app never started"
        process.send_signal(sig)
        process.wait(10)
        assert wait_for(lambda: not port_open(port), 5), f"the app outlived reweb after {sig.name}"
    finally:
        if process.poll() is None:
            process.kill()
        runtime.close()


def test_plain_commands_run_without_a_shell() -> None:
    from reweb.tree import command_argv

    assert command_argv("python app.py 8080") == ["python", "app.py", "8080"]
    assert command_argv("""php -d 'memory_limit=1G' -S "127.0.0.1:8080" a\\ b""") == [
        "php", "-d", "memory_limit=1G", "-S", "127.0.0.1:8080", "a b"]
    for compound in ("exit 7", "cd /srv && python app.py", "PORT=9000 node server.js", "a; b", "nginx -g 'daemon off;'",
                     "php-fpm & nginx", "exec gunicorn app:app", "node $APP", "ls *.py", "echo `id`", "a > log",
                     "~/bin/app", "app # comment"):
        assert command_argv(compound) == ["/bin/sh", "-c", compound], compound
