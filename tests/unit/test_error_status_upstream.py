"""REWEB_ERROR_STATUS_CODES through a Worker's own Upstream (made from its settings) and a raw loopback app, in
each framing of the body (Content-Length, chunked, end of connection):
- a body over the buffered limit: the listed status is the invocation error with the first 64 KB of the body
  (not reweb's 502 for a body too large); the rest of the body is not read (the app connection is dropped);
- a body that does not end (a few bytes, then the app holds the connection): the error is posted once the
  excerpt's own bound (ERROR_BODY_WAIT) has passed, not at the invocation's deadline, and says the body was still
  coming; the connection is dropped.
Either way the next request gets its own answer on a new connection."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from reweb.adapter import ERROR_BODY_KEPT, ERROR_BODY_WAIT, Adapter, Worker
from reweb.config import Settings
from reweb.log import Log
from reweb.runtime import Invocation

HUGE = 200 * 1024 * 1024  # what the app would send if it were read to its end
PIECE = b"e" * 65536
SMALL = b"own answer"
HELD = b"busy!"  # all of the body a /held-* answer sends before it holds the connection
HOLD = 30.0  # seconds the app holds it (a reweb that waited for the rest would post the error only then)


class RawApp:
    """Answers /big-length, /big-chunked and /big-close with a 500 whose body is HUGE bytes (framed by
    Content-Length, chunked, or by the end of the connection), written until the peer stops taking it;
    /held-length, /held-chunked and /held-close with a 503 whose body begins with HELD and goes on no further
    (the connection held until the peer drops it, HOLD seconds at most); any other path with a small 200.
    Records, per connection, the bytes of body written and whether the peer dropped it."""

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
                if path.startswith("/held-"):
                    conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\n" + {
                        "length": b"Content-Length: 1000\r\n\r\n" + HELD,
                        "chunked": b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(HELD), HELD),
                        "close": b"Connection: close\r\n\r\n" + HELD}[path.removeprefix("/held-")])
                    conn.settimeout(HOLD)
                    record["dropped"] = conn.recv(1) == b""  # the peer closed (a timeout raises: not dropped)
                    return
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


def invocation(path: str, deadline_ms: int = 0) -> Invocation:
    event = {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"host": "example.com"},
             "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"},
             "isBase64Encoded": False}
    return Invocation("req-1", deadline_ms, "arn", "", "", "", "", json.dumps(event).encode())


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


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_a_listed_status_whose_body_does_not_end_is_the_error_without_waiting_for_the_deadline(
        app: RawApp, framing: str) -> None:
    """The invocation has 15 minutes (Lambda's longest); the app sends its 503 and a few bytes of body, then
    holds the connection for HOLD seconds. The error comes (well) before the app lets go, carries what came of
    the body and the note; the held connection is dropped and the next request is answered on a new one."""
    settings = Settings(application_exec="app", port=app.port, error_status_codes=frozenset({503}))
    runtime = Runtime()
    worker = Worker(Adapter(settings, Log("FATAL"), "127.0.0.1:9", {}, app=App()),  # type: ignore[arg-type]
                    runtime)  # type: ignore[arg-type]
    before = len(app.connections)
    held = threading.Thread(target=worker.handle,
                            args=(invocation(f"/held-{framing}", int(time.time() * 1000) + 15 * 60_000),),
                            daemon=True)
    held.start()
    held.join(HOLD - 5)  # generous (the bound is ERROR_BODY_WAIT): still running means it waited for the app
    assert not held.is_alive(), "the error waited for the rest of a body that never came"
    worker.handle(invocation("/next"))
    error, result = runtime.calls
    assert error == ("error", "HttpError", "the app answered 503, listed in REWEB_ERROR_STATUS_CODES: "
                     f"{HELD.decode()} [its body was still coming after {ERROR_BODY_WAIT:g} s]")
    assert result[0] == "result" and result[1]["statusCode"] == 200 and result[1]["body"] == SMALL.decode()
    held_conn, fresh = app.connections[before:]
    assert held_conn["paths"] == [f"/held-{framing}"] and fresh["paths"] == ["/next"]
    worker.upstream.close()
    for _ in range(100):  # the app sees the end of the dropped connection (bounded)
        if held_conn["dropped"]:
            break
        threading.Event().wait(0.05)
    assert held_conn["dropped"]
