"""SnapStart's Runtime API flow, seen from the Lambda side: reweb under AWS_LAMBDA_INITIALIZATION_TYPE=snap-start
against a Runtime API that speaks the restore routes (GET /runtime/restore/next, POST /runtime/restore/error)
and records which connection each call came on. The RIE serves no restore flow for on-demand functions, so this
API is scripted here; `reweb local --snapstart` (tests/local/test_local_snapstart.py) runs the whole chain."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.rie import free_port
from tests.support.runtime import reweb_argv

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
APP = """import http.server, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        failing = os.environ.get("FAIL_HOOK")
        status = 500 if failing and self.path == f"/hooks/{failing}" else 200
        body = f"{self.command} {self.path}".encode()
        with open(sys.argv[2], "a") as f:
            f.write(f"{self.command} {self.path}\\n")
        self.send_response(status); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
EVENT = {"version": "2.0", "rawPath": "/page", "rawQueryString": "", "headers": {"host": "x"},
         "requestContext": {"http": {"method": "GET", "path": "/page"}, "stage": "$default"}}


class SnapStartApi:
    """Lambda's side: one invocation after the restore, then nothing; every call recorded with its client port."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.results: dict[str, Any] = {}
        self.errors: list[tuple[str, str, dict[str, Any]]] = []
        self.restored = threading.Event()
        self.served = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def reply(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                api.calls.append(("GET", self.path, self.client_address[1]))
                if self.path.endswith("/extension/event/next"):
                    time.sleep(3600)
                elif self.path == "/2018-06-01/runtime/restore/next":
                    time.sleep(0.3)  # the snapshot is taken, stored, and restored
                    api.restored.set()
                    self.reply(200, b"")
                elif self.path == "/2018-06-01/runtime/invocation/next":
                    if api.served.is_set():
                        time.sleep(3600)
                    api.served.set()
                    self.reply(200, json.dumps(EVENT).encode(), {
                        "Lambda-Runtime-Aws-Request-Id": "req-1", "Lambda-Runtime-Deadline-Ms":
                        str(int(time.time() * 1000) + 30000), "Lambda-Runtime-Invoked-Function-Arn": "arn:x"})
                else:
                    self.reply(404)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                api.calls.append(("POST", self.path, self.client_address[1]))
                if self.path.endswith("/extension/register"):
                    self.reply(200, b"{}", {"Lambda-Extension-Identifier": "ext-1"})
                elif self.path.endswith("/response"):
                    api.results[self.path.split("/")[-2]] = json.loads(body)
                    self.reply(202)
                elif self.path.endswith("/error"):
                    api.errors.append((self.path, self.headers["Lambda-Runtime-Function-Error-Type"],
                                       json.loads(body)))
                    self.reply(202)
                else:
                    self.reply(404)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def ports(self, path: str) -> set[int]:
        return {port for _method, p, port in self.calls if p == path}


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    started: list[tuple[subprocess.Popen[bytes], SnapStartApi]] = []

    def go(extra: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], SnapStartApi, Path]:
        (tmp_path / "app.py").write_text(APP)
        seen, port = tmp_path / "seen.txt", free_port()
        api = SnapStartApi()
        env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API": api.address,
               "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start", "REWEB_APPLICATION_PORT": str(port),
               "REWEB_APPLICATION_EXEC": f"{sys.executable} {tmp_path / 'app.py'} {port} {seen}",
               "REWEB_WAIT_PATH": "/ready", "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH": "/hooks/before",
               "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH": "/hooks/after", **(extra or {})}
        proc = subprocess.Popen(reweb_argv(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        started.append((proc, api))
        return proc, api, seen

    yield go
    for proc, api in started:
        proc.kill()
        proc.wait(5)
        api.server.shutdown()


def test_the_restore_flow_with_hooks_and_fresh_connections(run: Any) -> None:
    proc, api, seen = run()
    deadline = time.monotonic() + 20
    while "req-1" not in api.results and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert api.results.get("req-1", {}).get("statusCode") == 200, api.calls
    assert api.results["req-1"]["body"] == "GET /page"
    assert seen.read_text().splitlines()[-3:] == ["POST /hooks/before", "POST /hooks/after", "GET /page"]
    restore, invocation = api.ports("/2018-06-01/runtime/restore/next"), api.ports(
        "/2018-06-01/runtime/invocation/next")
    assert len(restore) == 1 and invocation, api.calls
    assert not restore & invocation  # the Runtime API connection from before the snapshot is not reused
    order = [path for _m, path, _p in api.calls if "/runtime/" in path]
    assert order.index("/2018-06-01/runtime/restore/next") < order.index("/2018-06-01/runtime/invocation/next")


def test_a_failing_after_restore_hook_is_a_restore_error(run: Any) -> None:
    proc, api, _seen = run({"FAIL_HOOK": "after"})
    assert proc.wait(20) == 1
    assert [(path, kind) for path, kind, _body in api.errors] == [
        ("/2018-06-01/runtime/restore/error", "Runtime.AfterRestoreError")]
    message = api.errors[0][2]["errorMessage"]
    assert "after-restore hook POST /hooks/after answered 500" in message
    assert "/2018-06-01/runtime/invocation/next" not in [p for _m, p, _port in api.calls]


def test_a_failing_before_checkpoint_hook_is_an_init_error(run: Any) -> None:
    proc, api, _seen = run({"FAIL_HOOK": "before"})
    assert proc.wait(20) == 1
    assert [(path, kind) for path, kind, _body in api.errors] == [
        ("/2018-06-01/runtime/init/error", "Runtime.BeforeCheckpointError")]
    assert "/2018-06-01/runtime/restore/next" not in [p for _m, p, _port in api.calls]
