"""The offload against an S3 that misbehaves (issue 18, point 8): a tiny hostile server on loopback that reads
the upload and then answers one byte every half second, answers garbage, or cuts its answer short. One
deadline (the invocation's) bounds the whole store; any of these is a precise status, never
Runtime.AdapterError or a timed-out invocation."""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.offload import APP, KEYS, http_event
from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration
TRICKLE = b"HTTP/1.1 200 OK\r\nx-amz-request-id: " + b"a" * 200  # one byte every 0.5 s: 100 s, never finished


class HostileS3:
    """Accepts connections on loopback; for each request reads its head and body, then misbehaves per `mode`."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stop = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    data += piece
                head, _, body = data.partition(b"\r\n\r\n")
                self.requests.append(head.split(b"\r\n", 1)[0])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(body) < length:
                    piece = conn.recv(1 << 20)
                    if not piece:
                        return
                    body += piece
                if self.mode == "slow":
                    for byte in TRICKLE:
                        if self.stop.wait(0.5):
                            return
                        conn.sendall(bytes([byte]))
                elif self.mode == "garbage":
                    conn.sendall(b"this is not HTTP at all\r\n\r\n")
                elif self.mode == "short":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<Error><Co")
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.server.close()


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[HostileS3]:
    server = HostileS3(request.param)
    yield server
    server.close()


def start(folder: Path, url: str, timeout_s: int) -> RieFunction:
    (folder / "app.py").write_text(APP)
    port = free_port()
    return RieFunction({**KEYS, "AWS_ENDPOINT_URL_S3": url, "REWEB_OFFLOAD_BUCKET": "reweb-big",
                        "REWEB_APPLICATION_PORT": str(port),
                        "REWEB_APPLICATION_EXEC": f"{sys.executable} {folder / 'app.py'} {port}"}, timeout_s=timeout_s)


@pytest.mark.parametrize("hostile", ["slow"], indirect=True)
@pytest.mark.parametrize("query", ["mb=7", "mb=17&chunked=1"])  # PutObject; multipart
def test_a_slow_s3_is_a_504_within_the_invocation(tmp_path: Path, hostile: HostileS3, query: str) -> None:
    fn = start(tmp_path, hostile.url, timeout_s=4)
    try:
        result = fn.invoke(http_event("/bytes", query), timeout=30)
        # Without one deadline over the whole store, each read waits its own timeout and Lambda ends the
        # invocation: the RIE answers with an error, not a result.
        assert result.get("statusCode") == 504, result
        assert result["body"] == "reweb: the response could not be stored before the invocation deadline\n"
        assert "before the invocation deadline" in fn.logs_with("offload failed")
    finally:
        fn.close()


@pytest.mark.parametrize("hostile", ["garbage", "short"], indirect=True)
@pytest.mark.parametrize("query", ["mb=7", "mb=17&chunked=1"])
def test_an_s3_answering_garbage_or_cut_short_is_a_502(tmp_path: Path, hostile: HostileS3, query: str) -> None:
    fn = start(tmp_path, hostile.url, timeout_s=30)
    try:
        result = fn.invoke(http_event("/bytes", query))
        assert result.get("statusCode") == 502, result
        assert result["body"] == "reweb: the response could not be stored\n"
        assert "offload failed" in fn.logs_with("offload failed")
        # reweb and the app's connection are sound afterwards.
        assert fn.invoke(http_event("/text", "kb=1"))["statusCode"] == 200
    finally:
        fn.close()
