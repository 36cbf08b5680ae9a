"""Lambda Managed Instances: AWS_LAMBDA_MAX_CONCURRENCY workers take invocations at once.

Nothing here emulates Managed Instances (the RIE serves one invocation at a time), so this test serves the
Runtime API itself: it hands out N invocations to whoever calls /next and records when each result arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty, Queue

import pytest

from tests.support.rie import free_port

pytestmark = pytest.mark.integration
ECHO = Path(__file__).resolve().parent.parent / "support" / "echo_app.py"


class RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, events: list[dict[str, object]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.pending: Queue[tuple[str, bytes]] = Queue()
        for i, event in enumerate(events):
            self.pending.put((f"req-{i}", json.dumps(event).encode()))
        self.results: dict[str, bytes] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.total = len(events)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApi

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        try:
            request_id, body = self.server.pending.get(timeout=30)
        except Empty:
            return
        with self.server.lock:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request_id = self.path.split("/")[-2]
        with self.server.lock:
            self.server.in_flight -= 1
            self.server.results[request_id] = body
            if len(self.server.results) == self.server.total:
                self.server.done.set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_eight_workers_serve_in_parallel() -> None:
    app_port = free_port()
    count = 16
    events = [{"version": "2.0", "rawPath": f"/sleep/{i}", "rawQueryString": f"n={i}",
               "headers": {"host": "example.com"},
               "requestContext": {"http": {"method": "GET", "path": f"/sleep/{i}"}, "stage": "$default"}}
              for i in range(count)]
    api = RuntimeApi(events)
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
           "AWS_LAMBDA_MAX_CONCURRENCY": "8", "REWEB_APPLICATION_PORT": str(app_port),
           "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {app_port}", "ECHO_SLEEP": "0.3"}
    process = subprocess.Popen([sys.executable, "-m", "reweb"], env=env, start_new_session=True)
    try:
        started = time.monotonic()
        assert api.done.wait(30), f"only {len(api.results)} of {count} results arrived"
        elapsed = time.monotonic() - started
        assert api.max_in_flight == 8
        for i in range(count):
            result = json.loads(api.results[f"req-{i}"])
            assert result["statusCode"] == 200
            assert json.loads(result["body"])["query"] == f"n={i}"  # no response mixed up between workers
        # 16 requests of 0.3 s on 8 workers: ~0.6 s plus start-up, far below the 4.8 s of one worker.
        assert elapsed < 4.0, elapsed
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
        api.shutdown()
