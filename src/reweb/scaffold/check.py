"""`reweb init`'s check: the app run under `reweb local` behind the chosen front door, up to its first answer,
so a command that does not start, or a port the app never opens, is a one-line error with nothing written."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import IO, Any

from ..config import SPECS, ConfigError, given
from ..log import parse as parse_record
from .plan import Plan, ScaffoldError, wait_target

CHECK_TIMEOUT = 30.0  # seconds for the whole check: reweb local gives init 10 s, plus its own start


def probe_path(plan: Plan) -> str:
    """The path the adapter polls for --wait-path, so the check sends the very same request target."""
    return wait_target(plan.wait_path)


def ready_codes(plan: Plan) -> str:
    """The status codes that mean ready to the instance, as given (--env, any of its names, as config.load reads
    them) or the default; for the message when the app never answers them."""
    spec = next(spec for spec in SPECS if spec.field == "wait_codes")
    try:
        return given(spec, plan.env)[1] or spec.default
    except ConfigError as exc:  # the instance refuses it too; the message says why
        return f"codes it cannot read ({exc})"


def check_app(plan: Plan) -> None:
    """Start the app under `reweb local` with the chosen front door and port, send one request, stop it."""
    wait_path = probe_path(plan)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        front_port = s.getsockname()[1]
    argv = [sys.executable, "-m", "reweb", "local", "--port", str(front_port), "--source", plan.front_door,
            "--app-port", str(plan.port), "--concurrency", "1", "--no-freeze", "--memory", str(plan.memory),
            "--timeout", str(plan.timeout), *(["--stream"] if plan.stream else []), "--", *plan.command]
    # The adapter in the instance logs JSON records: the check reads their fields, never the wording. It gets
    # REWEB_WAIT_PATH as the templates write it and parses it itself (to wait_path, as probe_path does).
    env = {**os.environ, "REWEB_LOCAL_DASHBOARD": "off", "REWEB_WAIT_PATH": plan.wait_path, **plan.env,
           "AWS_LAMBDA_LOG_FORMAT": "JSON"}
    with tempfile.TemporaryFile(mode="w+", prefix="reweb-init-") as log:
        try:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, cwd=plan.context, start_new_session=True)
        except OSError as exc:
            raise ScaffoldError(f"cannot run reweb local: {exc}") from None
        try:
            _check(plan, wait_path, process, front_port, log)
        finally:
            _stop(process)


def _check(plan: Plan, wait_path: str, process: subprocess.Popen[bytes], front_port: int, log: IO[str]) -> None:
    def output() -> str:
        log.seek(0)
        return log.read()

    deadline = time.monotonic() + CHECK_TIMEOUT
    answer: dict[str, object] = {}

    def request() -> None:
        url = f"http://127.0.0.1:{front_port}{wait_path}"
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
    while thread.is_alive():
        thread.join(0.1)
        text = output()
        found = other_port(text, plan.port)
        if found:  # reweb saw the app open another port: no need to wait for the init timeout
            answer["done"] = True
            raise ScaffoldError(f"the app does not open port {plan.port}: it listens on {found} "
                                f"(give --port {found}, or make the app listen on {plan.port})")
        if process.poll() is not None:
            answer["done"] = True
            last = [line for line in text.splitlines() if line.strip()][-1:] or ["(no output)"]
            raise ScaffoldError(f"reweb local exited ({process.returncode}): {_readable(last[0])}")
    if "status" not in answer:
        raise ScaffoldError(f"no answer from the app under reweb local within {CHECK_TIMEOUT:g} s")
    error = answer.get("error")
    if error:
        reason = " ".join(str(error).split()).rstrip(": ")
        if "InitTimeout" in reason:
            raise ScaffoldError(f"the app did not answer on port {plan.port} within reweb local's init time (10 s; "
                                f"ready means GET {wait_path} answers {ready_codes(plan)}): is --port right? "
                                f"({reason})")
        raise ScaffoldError(f"the app does not start under reweb local: {reason}")


def _record(line: str) -> dict[str, Any] | None:
    """reweb's record in a line of reweb local's output (an instance's lines start with `[N] `), or None."""
    start = line.find("{")
    return parse_record(line[start:]) if start >= 0 else None


def other_port(output: str, port: int) -> int | None:
    """The port the app listens on instead of `port`: the fields of the adapter's record that says so."""
    for line in output.splitlines():
        record = _record(line)
        listening = record.get("listening") if record and record.get("port") == port else None
        if isinstance(listening, list) and listening and isinstance(listening[0], int):
            return listening[0]
    return None


def _readable(line: str) -> str:
    """A JSON record as a person reads it: its message and reason."""
    record = _record(line)
    if record is None:
        return line
    return str(record.get("message", "")) + (f": {record['reason']}" if record.get("reason") else "")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)

