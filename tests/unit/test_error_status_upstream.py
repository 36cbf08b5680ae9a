"""REWEB_ERROR_STATUS_CODES with a body over the buffered limit, through a Worker's own Upstream (made from its
settings) and a raw loopback app: the listed status is the invocation error with the first 64 KB of the body
(not reweb's 502 for a body too large), whatever the body's framing; the rest of the body is not read (the app
connection is dropped), and the next request gets its own answer on a new connection."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from reweb.adapter import ERROR_BODY_KEPT, Adapter, Worker
from reweb.config import Settings
from reweb.log import Log
from reweb.runtime import Invocation

HUGE = 200 * 1024 * 1024  # what the app would send if it were read to its end
PIECE = b"e" * 65536
SMALL = b"own answer"


class RawApp:
    """Answers /big-length, /big-chunked and /big-close with a 500 whose body is HUGE bytes (framed by
    Content-Length, chunked, or by the end of the connection), written until the peer stops taking it; any other
    path with a small 200. Records, per connection, the bytes of body written and whether the peer dropped it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[dict[str, Any]] = []
        self.done = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            record: dict[str, Any] = {"paths": [], "sent": 0, "dropped": False}
            self.connections.append(record)
            threading.Thread(target=self.serve, args=(conn, record), daemon=True).start()

    def serve(self, conn: socket.socket, record: dict[str, Any]) -> None:
        conn.settimeout(30)
        buffer = b""
        try:
            for _ in range(10):
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                record["paths"].append(path)
                if not path.startswith("/big-"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(SMALL), SMALL))
                    continue
                framing = path.removeprefix("/big-")
                conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\n" + {
                    "length": b"Content-Length: %d\r\n\r\n" % HUGE,
                    "chunked": b"Transfer-Encoding: chunked\r\n\r\n",
                    "close": b"Connection: close\r\n\r\n"}[framing])
                try:
                    while record["sent"] < HUGE:
                        conn.sendall(b"%x\r\n%s\r\n" % (len(PIECE), PIECE) if framing == "chunked" else PIECE)
                        record["sent"] += len(PIECE)
                    conn.sendall(b"0\r\n\r\n" if framing == "chunked" else b"")
                except OSError:
                    record["dropped"] = True
                    return
                if framing == "close":
                    return
        except OSError:
            return
        finally:
            conn.close()


@pytest.fixture(scope="module")
def app() -> Iterator[RawApp]:
    app = RawApp()
    yield app
    app.sock.close()


class Runtime:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def respond_parts(self, request_id: str, parts: list[bytes]) -> None:
        self.calls.append(("result", json.loads(b"".join(parts))))

    def error(self, request_id: str, error_type: str, message: str) -> None:
        self.calls.append(("error", error_type, message))


class App:
    ready = True
    pid = 0

    def exit_of(self, pid: int, wait: float, until: float) -> int | None:
        return None


def invocation(path: str) -> Invocation:
    event = {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"host": "example.com"},
             "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"},
             "isBase64Encoded": False}
    return Invocation("req-1", 0, "arn", "", "", "", "", json.dumps(event).encode())


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_a_listed_status_over_the_limit_is_the_error_and_the_rest_is_not_read(app: RawApp, framing: str) -> None:
    settings = Settings(application_exec="app", port=app.port, error_status_codes=frozenset({500, 502}))
    runtime = Runtime()
    worker = Worker(Adapter(settings, Log("FATAL"), "127.0.0.1:9", {}, app=App()),  # type: ignore[arg-type]
                    runtime)  # type: ignore[arg-type]
    before = len(app.connections)
    worker.handle(invocation(f"/big-{framing}"))
    worker.handle(invocation("/next"))
    error, result = runtime.calls
    assert error == ("error", "HttpError", "the app answered 500, listed in REWEB_ERROR_STATUS_CODES: "
                     f"{'e' * ERROR_BODY_KEPT} [the first {ERROR_BODY_KEPT} bytes of its body]")
    assert result[0] == "result" and result[1]["statusCode"] == 200 and result[1]["body"] == SMALL.decode()
    big, fresh = app.connections[before:]
    assert big["paths"] == [f"/big-{framing}"] and fresh["paths"] == ["/next"]
    worker.upstream.close()
    for _ in range(100):  # the app's writes fail once the dropped connection's buffers are full (bounded)
        if big["dropped"]:
            break
        threading.Event().wait(0.05)
    # Never the whole body: what was written is what the kernel's socket buffers took (tens of MB at most).
    assert big["dropped"] and big["sent"] < HUGE // 2
