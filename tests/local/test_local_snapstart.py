"""SnapStart under `reweb local --snapstart`: init once ahead of the requests with the app's before-checkpoint
hook, the snapshot kept frozen, cold starts served by restoring it (after-restore hook, fresh connections,
REPORT with Restore Duration), the hooks' paths closed to clients, and failing hooks failing init or restore."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from reweb.local.ports import free_port
from tests.support.http_client import fetch
from tests.support.localharness import Local, start_local

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]  # every test starts processes

# Records every request (path, the peer's port: one per connection) and when it listened, in a JSON-lines
# file; starts slowly (an init worth snapshotting). FAIL_HOOK=before|after makes that hook answer 500.
APP = """import http.server, json, os, sys, time
record, port = sys.argv[1], int(sys.argv[2])
def note(**kw):
    with open(record, "a") as f:
        f.write(json.dumps({"t": time.time(), **kw}) + "\\n")
time.sleep(0.8)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        note(method=self.command, path=self.path, peer=self.client_address[1])
        failing = os.environ.get("FAIL_HOOK")
        status = 500 if failing and self.path == f"/__hooks/{failing}" else 200
        body = f"{self.command} {self.path}".encode()
        self.send_response(status); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
note(event="listening", pid=os.getpid())
server.serve_forever()
"""
HOOKS = {"AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH": "/__hooks/before",
         "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH": "/__hooks/after"}


def start(tmp_path: Path, extra_env: dict[str, str] | None = None, snapstart: bool = True) -> tuple[Local, Path]:
    (tmp_path / "app.py").write_text(APP)
    record, port = tmp_path / "record.jsonl", str(free_port())
    env = {"REWEB_APPLICATION_PORT": port, "REWEB_WAIT_PATH": "/ready", **HOOKS, **(extra_env or {})}
    args = ["--network", "shared", "--concurrency", "1", *(["--snapstart"] if snapstart else [])]
    local = start_local(args, app=[sys.executable, str(tmp_path / "app.py"), str(record), port], env=env)
    return local, record


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def requests(path: Path) -> list[tuple[str, str]]:
    return [(str(r["method"]), str(r["path"])) for r in records(path) if "path" in r]


def test_a_cold_start_restores_the_snapshot_made_ahead_of_it(tmp_path: Path) -> None:
    local, record = start(tmp_path)
    try:
        local.wait_for("SnapStart: snapshot ready")
        # Made ahead of any request: the app started, was found ready, and its before-checkpoint hook ran once.
        before_snapshot = records(record)
        assert requests(record)[-1] == ("POST", "/__hooks/before"), requests(record)
        assert ("POST", "/__hooks/after") not in requests(record)
        time.sleep(0.5)
        assert len(records(record)) == len(before_snapshot), "the frozen snapshot did something"
        sent_at = time.time()
        reply = fetch(local.port, "/page?x=1")
        assert reply.status == 200 and reply.body == b"GET /page?x=1"
        listening = next(r for r in records(record) if r.get("event") == "listening")
        assert float(str(listening["t"])) < sent_at  # the app's init was not this request's

        after = requests(record)[len(requests(record)) - 2:]
        assert after == [("POST", "/__hooks/after"), ("GET", "/page?x=1")], requests(record)
        # No connection survives the restore: the hook and the request come on connections opened after it.
        ports_before = {r["peer"] for r in before_snapshot if "peer" in r}
        ports_after = {r["peer"] for r in records(record)[len(before_snapshot):] if "peer" in r}
        assert ports_after and not ports_after & ports_before
        local.wait_for("REPORT RequestId")
        report = next(line for line in local.lines if line.startswith("REPORT RequestId"))
        assert "Restore Duration:" in report and "Billed Restore Duration:" in report and "Init Duration" not in report
        # A warm request: no hook, no restore.
        assert fetch(local.port, "/again").status == 200
        assert requests(record).count(("POST", "/__hooks/after")) == 1
        assert requests(record).count(("POST", "/__hooks/before")) == 1
    finally:
        local.stop()


@pytest.mark.parametrize("path", ["/__hooks/before", "/__hooks/after", "/__hooks/AFTER/", "/__hooks%2Fafter",
                                  "//__hooks//before"])
def test_the_hooks_paths_are_refused_to_clients(tmp_path: Path, path: str) -> None:
    local, record = start(tmp_path)
    try:
        reply = fetch(local.port, path, method="POST", body=b"x")
        assert reply.status == 403, reply
        assert b"reserved for SnapStart hooks" in reply.body
        assert requests(record).count(("POST", "/__hooks/before")) == 1  # reweb's own call only
        assert requests(record).count(("POST", "/__hooks/after")) == 1
        assert fetch(local.port, "/__hooks/other").status == 200  # only the hooks' own paths
    finally:
        local.stop()


def test_a_failing_before_checkpoint_hook_fails_init(tmp_path: Path) -> None:
    local, _record = start(tmp_path, {"FAIL_HOOK": "before"})
    try:
        local.wait_for("Error Type: Runtime.BeforeCheckpointError")
        assert not local.count("SnapStart: snapshot ready")
        reply = fetch(local.port, "/")
        # What API Gateway answers for a function that failed: 500 Internal Server Error; reweb local names why.
        assert reply.status == 500, reply
        assert "Runtime.BeforeCheckpointError" in dict(reply.headers).get("x-reweb-local-init-error", ""), reply
        assert any("before-checkpoint hook POST /__hooks/before answered 500" in line for line in local.lines)
    finally:
        local.stop()


def test_a_failing_after_restore_hook_fails_the_restore(tmp_path: Path) -> None:
    local, record = start(tmp_path, {"FAIL_HOOK": "after"})
    try:
        local.wait_for("SnapStart: snapshot ready")
        reply = fetch(local.port, "/")
        assert reply.status == 500, reply
        assert "Runtime.AfterRestoreError" in dict(reply.headers).get("x-reweb-local-init-error", ""), reply
        local.wait_for("RESTORE_REPORT")
        assert any("Error Type: Runtime.AfterRestoreError" in line for line in local.lines), local.lines
        assert ("GET", "/") not in requests(record)  # the request never reached a half-restored app
    finally:
        local.stop()


def test_without_snapstart_no_hook_is_called(tmp_path: Path) -> None:
    local, record = start(tmp_path, snapstart=False)
    try:
        assert fetch(local.port, "/x").status == 200
        assert not any(p.startswith("/__hooks") for _m, p in requests(record)), requests(record)
        local.wait_for("REPORT RequestId")
        assert "Init Duration" in next(line for line in local.lines if line.startswith("REPORT RequestId"))
    finally:
        local.stop()


def test_a_request_that_waits_for_the_snapshot_is_billed_its_init(tmp_path: Path) -> None:
    local, record = start(tmp_path)
    try:
        assert not local.count("SnapStart: snapshot ready")  # the app sleeps 0.8 s before it listens
        assert fetch(local.port, "/early").status == 200
        local.wait_for("REPORT RequestId")
        report = next(line for line in local.lines if line.startswith("REPORT RequestId"))
        assert "Init Duration:" in report and "Restore Duration:" in report, report
        assert requests(record)[-3:] == [("POST", "/__hooks/before"), ("POST", "/__hooks/after"), ("GET", "/early")]
    finally:
        local.stop()
