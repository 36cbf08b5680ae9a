"""reweb against a hostile app (tests/support/hostile_app.py), under the real Lambda RIE.

What a production reverse proxy must guarantee, whatever the app sends:
  - each invocation gets the app's parsed response or a reweb-made 502/504 ("reweb: ..."), never an invocation
    error, and a slow app gets its 504 before Lambda's own timeout;
  - the NEXT invocation gets its own answer: no stale byte of one exchange ever reaches another;
  - what the app cannot frame is refused at once, with bounded memory;
  - a request is never sent twice, and a crashed app is reported ("exited with status 3") and restarted.

Every test starts from a function whose app connection answers a probe correctly: a test that leaves the
connection broken gets the next test a fresh RIE (see Pool), so one failure does not cascade.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reweb.local.ports import free_port
from tests.support import hostile_app
from tests.support.rie import RieFunction
from tests.support.runtime import reweb_argv

pytestmark = pytest.mark.integration

HOSTILE = Path(hostile_app.__file__).resolve()
TIMEOUT_S = 3  # AWS_LAMBDA_FUNCTION_TIMEOUT of every function here
PEAK_LIMIT_KB = 200 * 1024  # reweb's VmHWM during one hostile exchange
HTTP_API_LIMIT = 6 * 1024 * 1024
STOLEN = b"STOLEN"  # the body of the fake response the app leaves on the connection
_unique = itertools.count(1)


def unique() -> str:
    return f"{uuid.uuid4().hex[:10]}-{next(_unique)}"


# -- events and answers --------------------------------------------------------------------------------

def v2_event(method: str, target: str, body: bytes = b"") -> dict[str, Any]:
    """A minimal HTTP API (payload 2.0) event."""
    path, _, query = target.partition("?")
    headers = {"host": "hostile.example.com", "user-agent": "reweb-hostile-test", "accept": "*/*"}
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query, "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "hostile", "domainName": "hostile.example.com",
            "domainPrefix": "hostile", "requestId": "hostile-" + unique(), "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": int(time.time() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "reweb-hostile-test"},
        },
        "isBase64Encoded": False,
    }
    if body:
        headers["content-type"] = "text/plain"
        event["body"] = body.decode()
    return event


@dataclass
class Answer:
    """What the RIE answered for one invocation."""

    request: str
    raw: bytes
    elapsed: float
    result: dict[str, Any] | None = field(init=False)

    def __post_init__(self) -> None:
        try:
            parsed = json.loads(self.raw)
        except ValueError:
            parsed = None
        self.result = parsed if isinstance(parsed, dict) and "statusCode" in parsed else None

    @property
    def status(self) -> int:
        assert self.result is not None, self.why_not_http()
        return int(self.result["statusCode"])

    @property
    def body(self) -> bytes:
        assert self.result is not None, self.why_not_http()
        body = self.result.get("body") or ""
        return base64.b64decode(body) if self.result.get("isBase64Encoded") else body.encode()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def why_not_http(self) -> str:
        return (f"{self.request}: the RIE's answer after {self.elapsed:.2f} s is not an HTTP result "
                f"(an invocation error or a Lambda timeout): {self.raw[:400]!r}")

    def __str__(self) -> str:
        return f"{self.request} -> {self.raw[:400]!r} after {self.elapsed:.2f} s"


def assert_http_result(answer: Answer) -> None:
    assert answer.result is not None, answer.why_not_http()
    assert "errorType" not in answer.result, str(answer)


def assert_reweb_error(answer: Answer, *statuses: int) -> None:
    """A result reweb made itself: one of `statuses`, with a "reweb: ..." body."""
    assert_http_result(answer)
    assert answer.status in statuses, f"expected a reweb-made {statuses}: {answer}"
    assert answer.text.startswith("reweb:"), f"a {answer.status} that reweb did not make: {answer}"


# -- one function under the RIE, with the hostile app --------------------------------------------------

class Hostile:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.log_path = directory / f"hostile-{self.port}.jsonl"
        self.function = RieFunction({
            "REWEB_APPLICATION_EXEC": f"{sys.executable} {HOSTILE} {self.port} {self.log_path}",
            "REWEB_APPLICATION_PORT": str(self.port),
        }, timeout_s=TIMEOUT_S)

    def close(self) -> None:
        self.function.close()

    def invoke(self, method: str, target: str, body: bytes = b"") -> Answer:
        payload = json.dumps(v2_event(method, target, body)).encode()
        started = time.monotonic()
        _status, raw = self.function.invoke_raw(payload, timeout=TIMEOUT_S + 10)
        return Answer(f"{method} {target}", raw, time.monotonic() - started)

    def ok(self) -> tuple[str, Answer]:
        target = f"/ok?n={unique()}"
        return target, self.invoke("GET", target)

    def requests(self) -> list[dict[str, Any]]:
        """Every request the app (any of its incarnations) received, with its raw bytes decoded."""
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]
        for entry in entries:
            entry["raw"] = base64.b64decode(entry["raw"])
        return entries

    def received(self, target: str) -> list[dict[str, Any]]:
        line = f" {target} HTTP/1.1\r\n".encode()
        return [entry for entry in self.requests() if line in entry["raw"].split(b"\r\n", 1)[0] + b"\r\n"]

    # reweb itself: the RIE's child process

    def reweb_pid(self) -> int | None:
        return self.function.reweb_pid()

    def reset_peak(self) -> int:
        """Reset reweb's peak RSS (VmHWM) to its current RSS; reweb's pid."""
        pid = self.reweb_pid()
        assert pid is not None, "reweb is not running under the RIE"
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return pid

    def peak_kb(self, pid: int) -> int | None:
        """reweb's peak RSS since reset_peak(pid), or None if that reweb is gone (the RIE reset the sandbox)."""
        if self.reweb_pid() != pid:
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")


class Pool:
    """One function for the module, replaced when a test leaves its app connection answering wrongly."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.current: Hostile | None = None

    def healthy(self, test_name: str) -> Hostile:
        if self.current is not None:
            target, answer = self.current.ok()
            if answer.result is not None and answer.status == 200 and answer.text == "ok " + target:
                return self.current
            print(f"[test_hostile] fresh function before {test_name}: the probe got {answer}", file=sys.stderr)
            self.current.close()
            self.current = None
        self.current = Hostile(self.directory)
        target, answer = self.current.ok()
        assert answer.result is not None and answer.text == "ok " + target, f"a fresh function fails: {answer}"
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.close()


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    pool = Pool(tmp_path_factory.mktemp("hostile"))
    yield pool
    pool.close()


@pytest.fixture
def hostile(pool: Pool, request: pytest.FixtureRequest) -> Hostile:
    return pool.healthy(request.node.name)


class Findings:
    """Soft assertions: every consequence of one misbehaviour is checked and reported together (the answer, its
    time, reweb's memory, the next invocations), so a failure says everything that went wrong, not the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def expect(self, ok: bool, message: str) -> None:
        if not ok:
            self.problems.append(message)

    @contextlib.contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except AssertionError as exc:
            self.problems.append(str(exc).split("\nassert ")[0])

    def done(self) -> None:
        assert not self.problems, "\n".join(f"- {problem}" for problem in self.problems)


def assert_peak_bounded(peak_kb: int | None, answer: Answer) -> None:
    assert peak_kb is not None, f"reweb was replaced (the RIE reset the sandbox) during the exchange: {answer}"
    assert peak_kb < PEAK_LIMIT_KB, f"reweb's peak RSS reached {peak_kb // 1024} MB: {answer}"


def assert_next_ok(hostile: Hostile, times: int = 2) -> list[Answer]:
    """The central property: each next invocation gets its own answer, and never the fake response."""
    answers = []
    for _ in range(times):
        target, answer = hostile.ok()
        assert_http_result(answer)
        assert STOLEN not in answer.raw, f"stale bytes of an earlier exchange reached this one: {answer}"
        assert answer.status == 200 and answer.text == "ok " + target, (
            f"the next invocation did not get its own answer: {answer}")
        answers.append(answer)
    return answers


# -- the harness itself --------------------------------------------------------------------------------

def test_baseline_answers_and_log(hostile: Hostile) -> None:
    """The app behaves when asked to: exact answers, keep-alive, and an exact log of what it received."""
    target, answer = hostile.ok()
    assert answer.status == 200 and answer.text == "ok " + target
    token = unique().encode()
    post = hostile.invoke("POST", "/ok/post", b"body " + token)
    assert post.status == 200 and post.text == "ok /ok/post"
    received = hostile.received("/ok/post")
    assert len(received) == 1 and received[0]["raw"].endswith(b"\r\n\r\nbody " + token)
    head = hostile.invoke("HEAD", "/ok/head")
    assert head.status == 200 and head.body == b""
    assert head.result is not None and head.result["headers"]["content-length"] == str(len("ok /ok/head"))
    assert len({entry["conn"] for entry in hostile.requests()[-3:]}) == 1  # one keep-alive connection


# -- stale bytes ---------------------------------------------------------------------------------------

# (method, target, the app's response as its own framing says, seconds before the next invocation)
STALE = [
    ("GET", "/204-body", (204, b""), 0.0),
    ("GET", "/204-body?delay=0.3", (204, b""), 0.6),  # the stale bytes come after the response: idle check
    ("HEAD", "/head-body", (200, b""), 0.0),
    ("GET", "/cl-chars", (200, "é".encode() * len(hostile_app.FAKE)), 0.0),
]


@pytest.mark.parametrize(("method", "target", "parsed", "pause"), STALE, ids=[s[1] for s in STALE])
def test_stale_bytes_never_reach_the_next_invocation(hostile: Hostile, method: str, target: str,
                                                     parsed: tuple[int, bytes], pause: float) -> None:
    findings = Findings()
    answer = hostile.invoke(method, target)
    with findings.check():
        assert_http_result(answer)
        assert STOLEN not in answer.raw, str(answer)
        if answer.status != 502:
            assert (answer.status, answer.body) == parsed, f"neither the app's response nor a 502: {answer}"
        else:
            assert_reweb_error(answer, 502)
    time.sleep(pause)
    with findings.check():
        assert_next_ok(hostile, times=3)
    findings.done()


@pytest.mark.parametrize("path", ["/103", "/100-then-200"])
def test_interim_responses_are_skipped(hostile: Hostile, path: str) -> None:
    target = f"{path}?n={unique()}"
    answer = hostile.invoke("GET", target)
    assert_http_result(answer)
    assert answer.status == 200 and answer.text == "ok " + target, str(answer)
    assert_next_ok(hostile)


# -- slow apps: 504 before Lambda's timeout ------------------------------------------------------------

@pytest.mark.parametrize("path", ["/trickle-head", "/trickle-body", "/trickle-chunks", "/endless-100"])
def test_slow_app_gets_504_before_the_lambda_timeout(hostile: Hostile, path: str) -> None:
    findings = Findings()
    pid = hostile.reweb_pid()
    answer = hostile.invoke("GET", path)
    with findings.check():
        assert_reweb_error(answer, 504)
    # At the deadline, not earlier. Before Lambda's timeout: the 504 is reweb's and the sandbox was not reset
    # (below); an upper bound on the wall clock measured the machine's load, not reweb.
    findings.expect(answer.elapsed >= 2.0, f"answered before the deadline: {answer}")
    findings.expect(hostile.reweb_pid() == pid, "the RIE reset the sandbox (killed reweb) at the timeout")
    with findings.check():
        assert_next_ok(hostile)
    findings.done()


# -- what the app cannot frame: 502 at once, memory bounded --------------------------------------------

REFUSED = [
    "/chunk-huge", "/chunk-neg", "/chunk-neg?mb=256", "/chunk-ffff", "/chunk-0x", "/chunk-plus",
    "/chunk-underscore", "/cl-superscript", "/cl-arabic", "/status-superscript", "/status-099", "/status-600",
    "/header-cr", "/header-nul", "/dup-cl", "/conflicting-cl", "/101",
]


def refused_at_once_then_next_ok(findings: Findings, hostile: Hostile, answer: Answer, peak: int | None) -> None:
    """The end of every "refuse this answer" test: fast, memory bounded, and the next invocation unharmed."""
    # "At once" is an event, not a clock: a refusal that waited for more bytes would end in the 504 at the
    # deadline; the caller asserts reweb's 502.
    findings.expect(answer.status != 504, f"not refused at once: {answer}")
    with findings.check():
        assert_peak_bounded(peak, answer)
    with findings.check():
        assert_next_ok(hostile)
    findings.done()


@pytest.mark.parametrize("path", REFUSED)
def test_unframeable_answer_is_502_at_once(hostile: Hostile, path: str) -> None:
    findings = Findings()
    pid = hostile.reset_peak()
    answer = hostile.invoke("GET", path)
    peak = hostile.peak_kb(pid)
    with findings.check():
        assert_reweb_error(answer, 502)
    refused_at_once_then_next_ok(findings, hostile, answer, peak)


@pytest.mark.parametrize("megabytes", [8, 256])
def test_chunked_body_over_the_limit_is_502_naming_it(hostile: Hostile, megabytes: int) -> None:
    """A valid chunked body (one chunk) too large for a buffered HTTP API result: 502 with the limit, and
    the body is not held whole in memory to find that out."""
    findings = Findings()
    pid = hostile.reset_peak()
    answer = hostile.invoke("GET", f"/big-chunked?mb={megabytes}")
    peak = hostile.peak_kb(pid)
    with findings.check():
        assert_reweb_error(answer, 502)
        assert re.search(rf"{HTTP_API_LIMIT}|6 ?MB|6 ?MiB", answer.text), f"the limit is not named: {answer}"
    refused_at_once_then_next_ok(findings, hostile, answer, peak)


# -- closes and crashes --------------------------------------------------------------------------------

def test_read_and_close_is_502_and_the_post_is_not_resent(hostile: Hostile) -> None:
    assert_next_ok(hostile, times=1)  # the app connection is a used keep-alive one
    findings = Findings()
    token = unique().encode()
    answer = hostile.invoke("POST", "/read-and-close", b"payment " + token)
    with findings.check():
        assert_reweb_error(answer, 502)
    copies = [entry for entry in hostile.requests() if token in entry["raw"]]
    findings.expect(len(copies) == 1, f"the app received the POST {len(copies)} times: {answer}")
    with findings.check():
        assert_next_ok(hostile)
    findings.done()


@pytest.mark.parametrize("path", ["/crash-before-head", "/crash-mid-head", "/crash-mid-body", "/crash-mid-chunks"])
def test_crash_is_502_naming_the_exit_then_the_app_is_restarted(hostile: Hostile, path: str) -> None:
    findings = Findings()
    answer = hostile.invoke("GET", path)
    with findings.check():
        assert_reweb_error(answer, 502)
        assert "exited with status 3" in answer.text, f"the exit is not named: {answer}"
    crashed = {entry["pid"] for entry in hostile.received(path)}
    assert len(crashed) == 1, f"the crashing request reached {len(crashed)} app processes"
    with findings.check():
        target, after = hostile.ok()
        assert_http_result(after)
        assert after.status == 200 and after.text == "ok " + target, f"the next invocation failed: {after}"
        served_by = {entry["pid"] for entry in hostile.received(target)}
        assert served_by and served_by.isdisjoint(crashed), "the next request was not served by a new app process"
        assert_next_ok(hostile, times=1)
    findings.done()


# -- response streaming: a Runtime API that records the stream ----------------------------------------

@dataclass
class Streamed:
    request_id: str
    deadline: float  # monotonic
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    trailers: dict[str, str] = field(default_factory=dict)
    finished: float | None = None  # monotonic time the last chunk (and trailers) arrived


class RecordingRuntimeApi:
    """Serves the given events on /next (each with its own deadline) and records every result it is sent."""

    def __init__(self, events: list[tuple[dict[str, Any], float]]) -> None:
        self.events = list(events)
        self.results: list[Streamed] = []
        self.issued: dict[str, Streamed] = {}
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        until = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < until:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()
        self.server.close()

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        with contextlib.suppress(OSError, ValueError), conn, conn.makefile("rb") as reader:
            while not self.stop.is_set():
                request_line = reader.readline(65536)
                if not request_line:
                    return
                headers: dict[str, str] = {}
                for _ in range(100):
                    line = reader.readline(65536)
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                method, path = request_line.decode("latin-1").split(" ")[:2]
                if method == "GET":
                    self.next_event(conn)
                else:
                    self.record(reader, path, headers)
                    conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    def next_event(self, conn: socket.socket) -> None:
        with self.changed:
            if not self.events:
                self.changed.wait_for(self.stop.is_set, timeout=60)
                raise OSError("no more events")
            event, seconds = self.events.pop(0)
        request_id = f"r{len(self.issued)}"
        self.issued[request_id] = Streamed(request_id, time.monotonic() + seconds)
        body = json.dumps(event).encode()
        deadline_ms = int((time.time() + seconds) * 1000)
        conn.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: %s\r\nLambda-Runtime-Deadline-Ms: %d\r\n"
                     b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:h\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (request_id.encode(), deadline_ms, len(body), body))

    def record(self, reader: Any, path: str, headers: dict[str, str]) -> None:
        request_id = path.split("/invocation/", 1)[-1].split("/", 1)[0]
        result = self.issued.get(request_id) or Streamed(request_id, 0.0)
        result.path, result.headers = path, headers
        with self.changed:
            self.results.append(result)
            self.changed.notify_all()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            for _ in range(1_000_000):
                size = int(reader.readline(65536).split(b";")[0], 16)
                if size == 0:
                    for _ in range(100):
                        line = reader.readline(65536)
                        if line in (b"\r\n", b""):
                            break
                        name, _, value = line.decode("latin-1").partition(":")
                        result.trailers[name.strip().lower()] = value.strip()
                    break
                result.body += reader.read(size)
                reader.readline(65536)
        else:
            result.body = reader.read(int(headers.get("content-length", "0")))
        result.finished = time.monotonic()
        with self.changed:
            self.changed.notify_all()

    def wait_finished(self, request_id: str, until: float) -> Streamed | None:
        with self.changed:
            self.changed.wait_for(lambda: any(r.request_id == request_id and r.finished for r in self.results),
                                  timeout=max(0.0, until - time.monotonic()))
            return next((r for r in self.results if r.request_id == request_id), None)

    def close(self) -> None:
        self.stop.set()
        with self.changed:
            self.changed.notify_all()


def streamed_parts(result: Streamed) -> tuple[dict[str, Any], bytes]:
    prelude, sep, body = result.body.partition(b"\0" * 8)
    assert sep, f"no prelude in the streamed result: {result.body[:300]!r}"
    return json.loads(prelude), body


@pytest.mark.parametrize("path", ["/trickle-body", "/trickle-chunks"])
def test_streamed_trickle_ends_with_error_trailer_before_the_deadline(tmp_path: Path, path: str) -> None:
    next_target = f"/ok?n={unique()}"
    api = RecordingRuntimeApi([(v2_event("GET", path), 3.0), (v2_event("GET", next_target), 20.0)])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REWEB_", "AWS_LWA_"))}
    env.update({"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}", "REWEB_INVOKE_MODE": "response_stream",
                "REWEB_APPLICATION_PORT": str(port),
                "REWEB_APPLICATION_EXEC": f"{sys.executable} {HOSTILE} {port} {tmp_path / 'hostile.jsonl'}"})
    process = subprocess.Popen(reweb_argv(), env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until = time.monotonic() + 15  # reweb's start, then the 3 s invocation
        while "r0" not in api.issued and time.monotonic() < until:
            time.sleep(0.02)
        assert "r0" in api.issued, "reweb never asked for the first invocation"
        slow = api.wait_finished("r0", api.issued["r0"].deadline + 2.0)
        assert slow is not None, "no result at all for the slow invocation"
        assert slow.finished is not None, (
            f"the stream was still open 2 s after the deadline ({len(slow.body)} bytes so far)")
        assert slow.path.endswith("/response"), f"not a streamed response: {slow.path}"
        late = slow.finished - slow.deadline
        assert late < 0, f"the stream ended {late:.2f} s after the invocation deadline"
        assert "lambda-runtime-function-error-type" in slow.trailers, (
            f"the stream ended without an error trailer: {slow.trailers} {slow.body[-200:]!r}")
        after = api.wait_finished("r1", time.monotonic() + 5)
        assert after is not None and after.finished is not None, "the next invocation was not answered"
        prelude, body = streamed_parts(after)
        assert prelude["statusCode"] == 200 and body == ("ok " + next_target).encode(), (prelude, body)
    finally:
        api.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
