"""Response streaming at the Runtime API level: the exact bytes reweb sends, trailers included.

The RIE does not stream, and reweb local's Runtime API is tested with reweb in tests/local; here a raw-socket
Runtime API records the streamed POST byte for byte, with its arrival times.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any, TypedDict

import pytest

from tests.support.rie import free_port
from tests.support.runtime import reweb_argv

pytestmark = pytest.mark.integration
ECHO = Path(__file__).resolve().parent.parent / "support" / "echo_app.py"


class Receipts:
    """Opens the echo app's gates (/stream?gate=DIR) as the chunks arrive here: the file DIR/I+1 once chunk I
    has been read, from the plain or gzipped body after the prelude. So a chunk that says "gated" was written
    after the previous one had reached the Runtime API: streaming shown by events, whatever the machine's speed."""

    def __init__(self, gate: Path | None) -> None:
        self.gate = gate
        self.head = b""
        self.text = b""
        self.inflate: Any = None
        self.in_body = False

    def feed(self, piece: bytes) -> None:
        if self.gate is None:
            return
        if not self.in_body:
            self.head += piece
            if b"\0" * 8 not in self.head:
                return
            prelude, _, piece = self.head.partition(b"\0" * 8)
            self.in_body = True
            if json.loads(prelude)["headers"].get("content-encoding") == "gzip":
                self.inflate = zlib.decompressobj(31)
        self.text += self.inflate.decompress(piece) if self.inflate is not None else piece
        for number in re.findall(rb"chunk (\d+)", self.text):
            (self.gate / str(int(number) + 1)).touch()


class StreamedResponse(TypedDict):
    """One response as the Runtime API read it: its head, its body pieces with their arrival times, its trailers."""

    headers: dict[str, str]
    pieces: list[tuple[float, bytes]]
    trailers: dict[str, str]


class StreamingRuntimeApi:
    """Serves one event per /next; records each streamed response: head, body pieces with times, trailers."""

    def __init__(self, events: list[dict[str, object]], gate: Path | None = None) -> None:
        self.events = list(events)
        self.gate = gate
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.responses: list[StreamedResponse] = []
        self.done = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        conn, _ = self.sock.accept()
        reader = conn.makefile("rb")
        while True:
            request_line = reader.readline()
            if not request_line:
                return
            headers: dict[str, str] = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            if b"/2020-01-01/extension/" in request_line:  # no Extensions API here: reweb goes on without
                reader.read(int(headers.get("content-length", "0")))
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                conn.close()
                conn, _ = self.sock.accept()
                reader = conn.makefile("rb")
                continue
            if request_line.startswith(b"GET"):
                if not self.events:
                    self.done.set()
                    time.sleep(30)
                    return
                body = json.dumps(self.events.pop(0)).encode()
                deadline = int(time.time() * 1000 + 20000)
                conn.sendall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r%d\r\n"
                             b"Lambda-Runtime-Deadline-Ms: %d\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(self.responses), deadline, len(body), body))
                continue
            pieces: list[tuple[float, bytes]] = []
            trailers: dict[str, str] = {}
            receipts = Receipts(self.gate)
            if headers.get("transfer-encoding") == "chunked":
                while True:
                    size = int(reader.readline().split(b";")[0], 16)
                    if size == 0:
                        while (line := reader.readline()) not in (b"\r\n", b""):
                            name, _, value = line.decode().partition(":")
                            trailers[name.strip()] = value.strip()
                        break
                    pieces.append((time.monotonic(), reader.read(size)))
                    receipts.feed(pieces[-1][1])
                    reader.readline()
            else:
                pieces.append((time.monotonic(), reader.read(int(headers.get("content-length", "0")))))
            self.responses.append({"headers": headers, "pieces": pieces, "trailers": trailers})
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")


def function_url_event(path: str, query: str) -> dict[str, object]:
    return {"version": "2.0", "rawPath": path, "rawQueryString": query, "headers": {"host": "abc.lambda-url.aws"},
            "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default",
                               "domainName": "abc.lambda-url.aws"}, "isBase64Encoded": False}


def run_reweb(api: StreamingRuntimeApi, **extra: str) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}", "REWEB_INVOKE_MODE": "response_stream",
           "REWEB_APPLICATION_PORT": str(port), "REWEB_APPLICATION_EXEC": f"{sys.executable} {ECHO} {port}", **extra}
    return subprocess.Popen(reweb_argv(), env=env, start_new_session=True,
                            stderr=subprocess.DEVNULL)


def test_stream_prelude_then_chunks_as_written_then_trailers_on_failure(tmp_path: Path) -> None:
    api = StreamingRuntimeApi([function_url_event("/stream", f"chunks=3&delay=0&gate={tmp_path}"),
                               function_url_event("/stream", "chunks=5&delay=0.05&die_after=2"),
                               function_url_event("/text", "size=100")], gate=tmp_path)
    process = run_reweb(api)
    try:
        assert api.done.wait(30), "the three invocations were not answered"
        ok, broken, after = api.responses
        assert ok["headers"]["lambda-runtime-function-response-mode"] == "streaming"
        assert ok["headers"]["content-type"] == "application/vnd.awslambda.http-integration-response"
        body = b"".join(piece for _, piece in ok["pieces"])
        prelude, _, rest = body.partition(b"\0" * 8)
        assert json.loads(prelude)["statusCode"] == 200
        assert json.loads(prelude)["headers"]["content-type"] == "text/plain"
        assert rest.count(b"chunk ") == 3
        # Pieces went out as the app wrote them, not at the end: each later chunk was written only after the
        # previous one had arrived here (an event; no clock).
        assert rest.count(b" gated\n") == 2 and b"ungated" not in rest, rest
        assert ok["trailers"] == {}
        # The app dies after two chunks: what was written is kept, the failure is in the trailers.
        broken_body = b"".join(piece for _, piece in broken["pieces"])
        assert broken_body.count(b"chunk ") == 2
        trailers = broken["trailers"]
        assert trailers["Lambda-Runtime-Function-Error-Type"] == "Runtime.StreamError"
        error = json.loads(base64.b64decode(trailers["Lambda-Runtime-Function-Error-Body"]))
        assert "exited with status 4 while streaming" in error["errorMessage"]
        # ...and the app was restarted for the next invocation.
        after_body = b"".join(piece for _, piece in after["pieces"])
        assert json.loads(after_body.partition(b"\0" * 8)[0])["statusCode"] == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def test_streamed_answers_are_gzipped_as_they_go(tmp_path: Path) -> None:
    """REWEB_ENABLE_COMPRESSION with response streaming (no peer compresses a stream): the client that accepts
    gzip gets each piece compressed and flushed as the app writes it; one that does not, the plain bytes."""
    gzip_event = function_url_event("/stream", f"chunks=3&delay=0&gate={tmp_path}")
    gzip_event["headers"] = {"host": "abc.lambda-url.aws", "accept-encoding": "gzip"}
    api = StreamingRuntimeApi([gzip_event, function_url_event("/stream", "chunks=3&delay=0.05")], gate=tmp_path)
    process = run_reweb(api, REWEB_ENABLE_COMPRESSION="true")
    try:
        assert api.done.wait(30), "the invocations were not answered"
        zipped, plain = api.responses
        pieces = [piece for _, piece in zipped["pieces"]]
        prelude, _, first = b"".join(pieces).partition(b"\0" * 8)
        headers = json.loads(prelude)["headers"]
        assert headers["content-encoding"] == "gzip" and "content-length" not in headers
        decompressor = zlib.decompressobj(31)
        body = decompressor.decompress(first)
        assert body.count(b"chunk ") == 3 and decompressor.eof
        # Compressed pieces still went out as the app wrote them: each later one after the previous had arrived.
        assert body.count(b" gated\n") == 2 and b"ungated" not in body, body
        plain_body = b"".join(piece for _, piece in plain["pieces"]).partition(b"\0" * 8)[2]
        assert plain_body.count(b"chunk ") == 3
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
