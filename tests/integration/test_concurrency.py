"""Lambda Managed Instances: AWS_LAMBDA_MAX_CONCURRENCY workers take invocations at once.

Nothing here emulates Managed Instances (the RIE serves one invocation at a time), so this test serves the
Runtime API itself: it hands out N invocations to whoever calls /next and records when each result arrives.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty, Queue

import pytest

from tests.support.rie import free_port
from tests.support.runtime import reweb_argv
from tests.support.sigmask import thread_count, threads_taking

pytestmark = pytest.mark.integration
ECHO = Path(__file__).resolve().parent.parent / "support" / "echo_app.py"


class RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, events: Sequence[Mapping[str, object]]) -> None:
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
        self.next_calls = 0
        self.fail_every = 0  # every Nth /next answers 500 or drops the connection
        self.failed_nexts = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApi

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.next_calls += 1
            fail = self.server.fail_every and self.server.next_calls % self.server.fail_every == 0
            if fail:
                self.server.failed_nexts += 1
        if fail:
            if self.server.next_calls % 2:
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.close_connection = True  # hang up without a word
            return
        try:
            request_id, body = self.server.pending.get(timeout=30)
        except Empty:
            return
        with self.server.lock:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Aws-Tenant-Id", f"tenant-of-{request_id}")  # multi-tenant functions
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/2020-01-01/extension/"):  # no Extensions API here: reweb goes on without
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
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
    """Shown by events, not timing: the app holds every request on a barrier of 8 that opens only when 8
    requests are inside it at once (else, after 20 s, it answers 500), so all 16 answer 200 only if the 8
    workers really serve at once, whatever the machine's speed or load."""
    app_port = free_port()
    count = 16
    events = [{"version": "2.0", "rawPath": f"/barrier/{i}", "rawQueryString": f"n={i}",
               "headers": {"host": "example.com"},
               "requestContext": {"http": {"method": "GET", "path": f"/barrier/{i}"}, "stage": "$default"}}
              for i in range(count)]
    api = RuntimeApi(events)
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
           "AWS_LAMBDA_MAX_CONCURRENCY": "8", "REWEB_APPLICATION_PORT": str(app_port),
           "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {app_port}", "ECHO_BARRIER": "8"}
    process = subprocess.Popen(reweb_argv(), env=env, start_new_session=True)
    try:
        assert api.done.wait(60), f"only {len(api.results)} of {count} results arrived"
        assert api.max_in_flight == 8
        assert thread_count(process.pid) >= 9  # main and 8 workers
        assert threads_taking(process.pid, signal.SIGTERM) == [process.pid]  # src/reweb/threads.py says why
        for i in range(count):
            result = json.loads(api.results[f"req-{i}"])
            assert result["statusCode"] == 200, result  # 500: fewer than 8 requests reached the app together
            echoed = json.loads(result["body"])
            assert echoed["query"] == f"n={i}"  # no response mixed up between workers
            assert ["x-amz-tenant-id", f"tenant-of-req-{i}"] in echoed["headers"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
        api.shutdown()


def test_workers_survive_crashes_next_failures_and_restarts_under_load() -> None:
    """8 workers, 60 invocations: one in six crashes the app, one /next in five fails (500 or a dropped
    connection). Every invocation gets its own answer or a 502 naming the crash (the requests in flight when
    the app dies die with it, as behind any proxy); no worker dies; the app is back for the next wave."""
    app_port = free_port()
    count = 60
    paths = ["/crash" if i % 6 == 3 else f"/echo/{i}" for i in range(count)]
    events = [{"version": "2.0", "rawPath": path, "rawQueryString": f"n={i}", "headers": {"host": "example.com"},
               "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}}
              for i, path in enumerate(paths)]
    api = RuntimeApi(events)
    api.fail_every = 5
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
           "AWS_LAMBDA_MAX_CONCURRENCY": "8", "REWEB_APPLICATION_PORT": str(app_port),
           "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {app_port}"}
    process = subprocess.Popen(reweb_argv(), env=env, start_new_session=True,
                               stderr=subprocess.PIPE, text=True)
    stderr = ""
    try:
        _storm_and_second_wave(api, paths, events, process)
    except AssertionError as exc:  # reweb's log says what happened to the app: part of the failure
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        raise AssertionError(f"{exc}\nreweb's log (last 6000 characters):\n{stderr[-6000:]}") from None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            _, stderr = process.communicate(timeout=10)
        api.shutdown()
    assert "reweb/adapter.py" not in stderr and "reweb/cli.py" not in stderr, stderr  # no traceback of reweb's
    assert "retrying" in stderr


def _storm_and_second_wave(api: RuntimeApi, paths: list[str], events: Sequence[Mapping[str, object]],
                           process: subprocess.Popen[str]) -> None:
    count = len(paths)
    assert api.done.wait(60), f"only {len(api.results)} of {count} results arrived"
    assert api.failed_nexts >= 10
    crashes = 0
    for i, path in enumerate(paths):
        result = json.loads(api.results[f"req-{i}"])
        if result["statusCode"] == 200:
            assert path != "/crash"
            assert json.loads(result["body"])["query"] == f"n={i}"  # its own answer, never another's
        else:
            # A crash answers 502 to the invocation that caused it, and to others in flight at that moment.
            assert result["statusCode"] == 502, result
            # ...or, when it hit the app between a crash and the restart, says that (any phase).
            assert result["body"].startswith(("reweb: the app exited with status 3",
                                              "reweb: the app refused the connection")), result
            crashes += path == "/crash"
    assert crashes == paths.count("/crash")
    assert process.poll() is None, "reweb exited"
    # After the storm: every worker is alive and the app is back, so a second wave all answers 200.
    api.fail_every = 0
    with api.lock:
        api.done.clear()
        api.total += 16
        for i in range(count, count + 16):
            event = {**events[0], "rawQueryString": f"n={i}"}
            api.pending.put((f"req-{i}", json.dumps(event).encode()))
    assert api.done.wait(30), f"only {len(api.results) - count} of 16 results of the second wave arrived"
    for i in range(count, count + 16):
        result = json.loads(api.results[f"req-{i}"])
        assert result["statusCode"] == 200 and json.loads(result["body"])["query"] == f"n={i}", result


def test_reweb_exits_non_zero_when_the_runtime_api_is_gone() -> None:
    app_port = free_port()
    # A port bound but not listening: every /next is refused, and while this socket holds it no other server
    # can take it. A port merely closed could be handed to another run's Runtime API (reweb local's, on this
    # machine's loopback), whose invocations this reweb would then take and answer with its echo app.
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{held.getsockname()[1]}",
               "AWS_LAMBDA_MAX_CONCURRENCY": "4", "REWEB_APPLICATION_PORT": str(app_port),
               "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {app_port}"}
        result = subprocess.run(reweb_argv(), env=env, capture_output=True, text=True, timeout=60)  # never hangs
    assert result.returncode == 1
    assert "the Lambda Runtime API is unreachable; reweb exits" in result.stderr
    assert "Traceback" not in result.stderr
    # It gave up after retrying for 5 s by its own clock (not at the first failure): no wall-clock bound here,
    # which would measure this machine's load rather than reweb.
    seconds = re.search(r"reweb exits .*seconds=([0-9.]+)", result.stderr)
    assert seconds is not None and float(seconds.group(1)) >= 5.0, result.stderr


def test_runtime_api_calls_go_through_the_lwa_proxy_setting() -> None:
    """AWS_LWA_LAMBDA_RUNTIME_API_PROXY: the Runtime API is reached through the proxy (here the only API that
    answers); the Extensions API stays at AWS_LAMBDA_RUNTIME_API (here nothing listens: a warning, no failure)."""
    app_port = free_port()
    events = [{"version": "2.0", "rawPath": "/via-proxy", "rawQueryString": "n=0", "headers": {"host": "x"},
               "requestContext": {"http": {"method": "GET", "path": "/via-proxy"}, "stage": "$default"}}]
    api = RuntimeApi(events)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{free_port()}",
           "AWS_LWA_LAMBDA_RUNTIME_API_PROXY": f"127.0.0.1:{api.server_address[1]}",
           "REWEB_APPLICATION_PORT": str(app_port), "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {app_port}"}
    process = subprocess.Popen(reweb_argv(), env=env, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        assert api.done.wait(20), "no result through the proxy"
        assert json.loads(json.loads(api.results["req-0"])["body"])["path"] == "/via-proxy"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
        api.shutdown()
    assert "could not register as a Lambda extension" in stderr
