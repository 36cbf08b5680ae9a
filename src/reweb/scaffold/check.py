"""`reweb init`'s check: the app run under `reweb local` behind the chosen front door, up to its first answer,
so a command that does not start, or a port the app never opens, is a one-line error with nothing written."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import IO

from .plan import Plan, ScaffoldError

CHECK_TIMEOUT = 30.0  # seconds for the whole check: reweb local gives init 10 s, plus its own start


def check_app(plan: Plan) -> None:
    """Start the app under `reweb local` with the chosen front door and port, send one request, stop it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        front_port = s.getsockname()[1]
    argv = [sys.executable, "-m", "reweb", "local", "--port", str(front_port), "--source", plan.front_door,
            "--app-port", str(plan.port), "--concurrency", "1", "--no-freeze", "--memory", str(plan.memory),
            "--timeout", str(plan.timeout), *(["--stream"] if plan.stream else []), "--", *plan.command]
    env = {**os.environ, "REWEB_LOCAL_DASHBOARD": "off", "REWEB_WAIT_PATH": plan.wait_path, **plan.env}
    with tempfile.TemporaryFile(mode="w+", prefix="reweb-init-") as log:
        try:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, cwd=plan.context, start_new_session=True)
        except OSError as exc:
            raise ScaffoldError(f"cannot run reweb local: {exc}") from None
        try:
            _check(plan, process, front_port, log)
        finally:
            _stop(process)


def _check(plan: Plan, process: subprocess.Popen[bytes], front_port: int, log: IO[str]) -> None:
    def output() -> str:
        log.seek(0)
        return log.read()

    deadline = time.monotonic() + CHECK_TIMEOUT
    answer: dict[str, object] = {}

    def request() -> None:
        url = f"http://127.0.0.1:{front_port}{plan.wait_path}"
        while time.monotonic() < deadline and "done" not in answer:
            try:
                with urllib.request.urlopen(url, timeout=max(deadline - time.monotonic(), 1)) as response:
                    answer.update(status=response.status, error=response.headers.get("x-reweb-local-init-error"))
            except urllib.error.HTTPError as exc:
                answer.update(status=exc.code, error=exc.headers.get("x-reweb-local-init-error"))
            except OSError:  # the front door is not listening yet
                time.sleep(0.1)
                continue
            break
        answer["done"] = True

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    other_port = re.compile(rf"nothing listens on port {plan.port}, but the app listens on (\d+)")
    while thread.is_alive():
        thread.join(0.1)
        text = output()
        found = other_port.search(text)
        if found:  # reweb saw the app open another port: no need to wait for the init timeout
            answer["done"] = True
            raise ScaffoldError(f"the app does not open port {plan.port}: it listens on {found.group(1)} "
                            f"(give --port {found.group(1)}, or make the app listen on {plan.port})")
        if process.poll() is not None:
            answer["done"] = True
            last = [line for line in text.splitlines() if line.strip()][-1:] or ["(no output)"]
            raise ScaffoldError(f"reweb local exited ({process.returncode}): {last[0]}")
    if "status" not in answer:
        raise ScaffoldError(f"no answer from the app under reweb local within {CHECK_TIMEOUT:g} s")
    error = answer.get("error")
    if error:
        reason = " ".join(str(error).split()).rstrip(": ")
        if "InitTimeout" in reason:
            raise ScaffoldError(f"the app did not answer on port {plan.port} within reweb local's init time (10 s; "
                            f"ready means GET {plan.wait_path} answers 100-499): is --port right? ({reason})")
        raise ScaffoldError(f"the app does not start under reweb local: {reason}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)

