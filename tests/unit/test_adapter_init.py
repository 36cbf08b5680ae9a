"""cli.run_adapter's init steps without the RIE: each failure is one InitFailure, logged once, reported once to
the Runtime API's init/error (recorded here instead of sent) with its error type, and reweb's exit status.
tests/integration (test_rie, test_app_process, test_secrets, test_snapstart) run the same paths for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from reweb import app, cli

Reports = list[tuple[str, str]]


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> Iterator[Reports]:
    seen: Reports = []
    monkeypatch.setattr(cli, "_report_init_error", lambda address, kind, message, log: seen.append((kind, message)))
    # In pytest's own process: no reaper thread (its waitid(P_ALL) would collect every later test's subprocess, whose
    # exit status then reads 0), no subreaper, no lifeline. These apps never start (no such file), so none is needed.
    monkeypatch.setattr(app.App, "_supervise", lambda self: None)
    for name in ("AWS_LAMBDA_RUNTIME_API", "AWS_LWA_LAMBDA_RUNTIME_API_PROXY", "REWEB_APPLICATION_EXEC",
                 "AWS_LAMBDA_INITIALIZATION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    yield seen
    signal.signal(signal.SIGTERM, handlers[0])  # start_app installs reweb's own: give pytest its own back
    signal.signal(signal.SIGINT, handlers[1])


def test_without_a_runtime_api_init_exits_2_and_reports_nothing(reports: Reports, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API")
    assert cli.run_adapter(["--", "app"]) == 2
    assert reports == [] and "AWS_LAMBDA_RUNTIME_API is not set" in capsys.readouterr().err


def test_a_bad_setting_is_reported_as_invalid_configuration(reports: Reports,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run_adapter(["--port", "80", "--", "app"]) == 1
    [(kind, message)] = reports
    assert kind == "Runtime.InvalidConfiguration" and message.startswith("--port: port must be between")
    assert capsys.readouterr().err.count("configuration error") == 1


def test_an_app_that_cannot_start_is_reported_as_app_start_error(reports: Reports,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run_adapter(["--", "/nonexistent/reweb-test-app"]) == 1
    [(kind, message)] = reports
    assert kind == "Runtime.AppStartError" and message.startswith("reweb: ") and "/nonexistent" in message
    assert capsys.readouterr().err.count("the app could not be started") == 1


def test_a_secret_that_cannot_be_read_is_reported_before_the_app_starts(reports: Reports,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWEB_SECRET_DB", "not-an-arn")
    assert cli.run_adapter(["--", "/nonexistent/reweb-test-app"]) == 1
    [(kind, message)] = reports
    assert kind == "Runtime.SecretError" and message.startswith("reweb: ")


def test_init_failure_carries_what_the_one_report_needs() -> None:
    failure = cli.InitFailure("Runtime.X", "reweb: why", "headline", "reason", stop_app=True)
    assert (failure.error_type, failure.message, failure.headline, failure.reason, failure.stop_app,
            failure.status) == ("Runtime.X", "reweb: why", "headline", "reason", True, 1)


ENDS_AMID_DAEMON_THREADS = """
import atexit, os, sys, threading
from reweb import cli

def chatter() -> None:  # a worker, the reaper or the extension's wait, still logging at the end
    for _ in range(10_000_000):
        sys.stderr.write("still serving\\n")

class Adapter:
    def run(self) -> int:
        sys.stderr.write("the Lambda Runtime API is unreachable; reweb exits\\n")
        return 1

class App:
    def stop(self, grace: float) -> None:
        sys.stderr.write(f"app stopped grace={grace}\\n")

def make_adapter(self: cli._Init) -> None:
    if os.environ["ENDING"] == "init":
        raise cli.InitFailure("", "", "the app is not ready: init fails", status=3)

for step in ("read_settings", "wait_for_app", "snapshot"):
    setattr(cli._Init, step, lambda self: None)
cli._Init.start_app = lambda self: threading.Thread(target=chatter, daemon=True).start()
cli._Init.make_adapter = make_adapter
cli._Init.adapter, cli._Init.app = Adapter(), App()
atexit.register(lambda: sys.stderr.write("interpreter finalized\\n"))
cli.main(["--", "app"])
sys.stderr.write("main returned\\n")
"""


@pytest.mark.parametrize(("ending", "status", "last_line"), [
    ("invocations", 1, "the Lambda Runtime API is unreachable; reweb exits"),
    ("init", 3, "[reweb] ERROR the app is not ready: init fails"),
])
def test_the_adapter_ends_by_exit_not_by_finalizing_around_its_threads(ending: str, status: int,
                                                                       last_line: str) -> None:
    """A finalizing interpreter can abort on a daemon thread's half-written log line ("Fatal Python error:
    _enter_buffered_busy": status -6, seen once in three suite runs under load with four workers): reweb's end,
    after its invocations or a failed init, is the output flushed, then _exit with its status, without
    finalization."""
    result = subprocess.run([sys.executable, "-c", ENDS_AMID_DAEMON_THREADS], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "ENDING": ending})
    assert result.returncode == status, result
    lines = result.stderr.splitlines()
    assert last_line in lines, result
    if ending == "invocations":
        assert "app stopped grace=1.0" in lines, result
    assert "main returned" not in lines and "interpreter finalized" not in lines, result
