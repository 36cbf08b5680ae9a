"""A hostile HTTP/1.1 app for the test suite: raw sockets, one thread per keep-alive connection, and a
misbehaviour chosen by the request path (parameters in the query string).

Every request it receives is appended, byte for byte, to LOGFILE as one JSON line:
    {"pid": <app pid>, "conn": <connection number in this process>, "seq": <request number on that connection>,
     "path": <path>, "raw": <base64 of the exact head + body bytes>}
The line is written once the whole request (head and Content-Length body) has been read, before answering.

Well-behaved paths:
  /  and  /ok...         200 text/plain, body "ok " + the request target (the readiness check gets "ok /")
Stale bytes (each leaves a complete fake response "HTTP/1.1 200 OK ... STOLEN" on the connection):
  /204-body[?delay=S]    204, then the fake response as its "body" (delay S seconds before the fake)
  /head-body             Content-Length of the fake, and the fake as the body, even to a HEAD
  /cl-chars              Content-Length counted in characters of "é"*k + fake: the fake is left over
  /101                   101 Switching Protocols, then the fake
  /103                   103 Early Hints, then the normal /ok answer
  /100-then-200          100 Continue, then the normal /ok answer
Slow (one byte every `interval` s, default 1, for at most `secs` s, default 60):
  /trickle-head          a head that never ends
  /trickle-body          Content-Length: 1000, then the body a byte at a time
  /trickle-chunks        chunked, a 1-byte chunk at a time
  /endless-100           "100 Continue" every 0.2 s
Chunked bodies that a parser must refuse (then the app waits, at most 60 s, for the peer to close):
  /chunk-huge            chunk size 40000000 (1 GiB), a few bytes
  /chunk-neg[?mb=N]      chunk size -1, then N MB of data and close (default: a few bytes and wait)
  /chunk-ffff            chunk size FFFFFFFFFFFF
  /chunk-0x, /chunk-plus, /chunk-underscore    "0x10", "+10", "1_0" (then 16 bytes, CRLF, last chunk)
Heads that a parser must refuse:
  /cl-superscript        Content-Length: ² (UTF-8)
  /cl-arabic             Content-Length: U+0665 (ARABIC-INDIC DIGIT FIVE, str.isdigit() and int() accept it), "hello"
  /status-superscript    status ²²²
  /status-099, /status-600
  /header-cr, /header-nul    a header value with a bare CR / a NUL inside
  /dup-cl                two equal Content-Length headers
  /conflicting-cl        Content-Length 5 and 6
Closes and crashes:
  /read-and-close        reads the whole request, closes without answering
  /crash-before-head     os._exit(3) after reading the request
  /crash-mid-head        half a head, then os._exit(3)
  /crash-mid-body        Content-Length: 1000 and 10 bytes, then os._exit(3)
  /crash-mid-chunks      chunked, one and a half chunks, then os._exit(3)
Size:
  /big-chunked?mb=N      a valid chunked body of N MB in one chunk

Run: python3 hostile_app.py PORT LOGFILE   (binds 127.0.0.1; exits by itself after 15 minutes)
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024
LIFETIME = 900.0  # seconds: the app never outlives a forgotten test by much
HANG = 60.0  # seconds at most for any slow or hanging answer
MB = 1024 * 1024

FAKE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nSTOLEN"

_log_lock = threading.Lock()
_conn_numbers = itertools.count(1)


class Request:
    def __init__(self, raw_head: bytes, body: bytes) -> None:
        self.raw = raw_head + body
        self.body = body
        lines = raw_head.decode("latin-1").split("\r\n")
        self.method, self.target, self.version = [*lines[0].split(" "), "", "", ""][:3]
        self.headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                self.headers.append((name.strip().lower(), value.strip()))
        url = urlsplit(self.target)
        self.path = url.path
        self.args = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")


class Connection:
    def __init__(self, sock: socket.socket, log_path: str) -> None:
        self.sock = sock
        self.log_path = log_path
        self.number = next(_conn_numbers)
        self.buffer = b""
        self.seq = 0

    def read_request(self) -> Request | None:
        """The next request, or None when the peer closed (or sent something this app cannot take)."""
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                return None
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        end = self.buffer.index(b"\r\n\r\n") + 4
        raw_head, self.buffer = self.buffer[:end], self.buffer[end:]
        length = 0
        for line in raw_head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length > MAX_BODY:
            return None
        while len(self.buffer) < length:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        request = Request(raw_head, body)
        self.seq += 1
        self.log(request)
        return request

    def log(self, request: Request) -> None:
        line = json.dumps({"pid": os.getpid(), "conn": self.number, "seq": self.seq, "path": request.path,
                           "raw": base64.b64encode(request.raw).decode()}) + "\n"
        with _log_lock:
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())  # one write with O_APPEND: whole lines even across processes
            finally:
                os.close(fd)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_for_close(self, limit: float = HANG) -> None:
        """Hang: read and drop whatever comes until the peer closes, at most `limit` seconds."""
        until = time.monotonic() + limit
        while (left := until - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                if not self.sock.recv(65536):
                    return
            except OSError:
                return

    def trickle(self, head: bytes, piece: bytes, interval: float, limit: float) -> None:
        """Send `head` one byte per interval, then `piece` once per interval, until `limit` seconds pass."""
        until = time.monotonic() + limit
        pieces = itertools.chain((bytes([b]) for b in head), itertools.repeat(piece))
        for data in pieces:
            if time.monotonic() >= until:
                return
            self.send(data)
            time.sleep(interval)


def ok_answer(request: Request) -> bytes:
    body = b"ok " + request.target.encode("latin-1")
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
    return head if request.method == "HEAD" else head + body


def simple(head_lines: bytes, body: bytes) -> bytes:
    return head_lines + b"\r\n" + body


# Each handler answers (or misbehaves) and returns True to keep serving the connection.
Handler = Callable[[Connection, Request], bool]


def h_ok(conn: Connection, request: Request) -> bool:
    conn.send(ok_answer(request))
    return "close" not in request.header("connection").lower()


def h_204_body(conn: Connection, request: Request) -> bool:
    delay = float(request.args.get("delay", "0"))
    if delay:
        conn.send(b"HTTP/1.1 204 No Content\r\n\r\n")
        time.sleep(delay)
        conn.send(FAKE)
    else:
        conn.send(b"HTTP/1.1 204 No Content\r\n\r\n" + FAKE)  # one segment: the fake is there at once
    return True


def h_head_body(conn: Connection, request: Request) -> bool:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(FAKE), FAKE))
    return True


def h_cl_chars(conn: Connection, request: Request) -> bool:
    # "é" * k + FAKE has len(FAKE) + k characters but len(FAKE) + 2k bytes: with k = len(FAKE), a reader that
    # trusts the Content-Length takes exactly the "é"s, and the fake is left over.
    text = "é" * len(FAKE) + FAKE.decode()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s"
              % (len(text), text.encode()))
    return True


def h_101(conn: Connection, request: Request) -> bool:
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + FAKE)
    return True


def h_103(conn: Connection, request: Request) -> bool:
    conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
    time.sleep(0.05)
    conn.send(ok_answer(request))
    return True


def h_100_then_200(conn: Connection, request: Request) -> bool:
    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    time.sleep(0.05)
    conn.send(ok_answer(request))
    return True


def _slow_args(request: Request) -> tuple[float, float]:
    return float(request.args.get("interval", "1")), min(float(request.args.get("secs", str(HANG))), HANG)


def h_trickle_head(conn: Connection, request: Request) -> bool:
    interval, limit = _slow_args(request)
    conn.trickle(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Trickle: ", b"a", interval, limit)
    return False


def h_trickle_body(conn: Connection, request: Request) -> bool:
    interval, limit = _slow_args(request)
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n")
    conn.trickle(b"", b"x", interval, limit)
    return False


def h_trickle_chunks(conn: Connection, request: Request) -> bool:
    interval, limit = _slow_args(request)
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
    conn.trickle(b"", b"1\r\nx\r\n", interval, limit)
    return False


def h_endless_100(conn: Connection, request: Request) -> bool:
    _, limit = _slow_args(request)
    conn.trickle(b"", b"HTTP/1.1 100 Continue\r\n\r\n", 0.2, limit)
    return False


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"


def bad_chunk_then_hang(size_line: bytes) -> Handler:
    def handler(conn: Connection, request: Request) -> bool:
        conn.send(CHUNKED_HEAD + size_line + b"\r\nabc")
        conn.wait_for_close()
        return False
    return handler


def h_chunk_neg(conn: Connection, request: Request) -> bool:
    megabytes = int(request.args.get("mb", "0"))
    if not megabytes:
        return bad_chunk_then_hang(b"-1")(conn, request)
    conn.send(CHUNKED_HEAD + b"-1\r\n")
    block = b"x" * MB
    for _ in range(megabytes):
        conn.send(block)  # raises (and ends the thread) as soon as the peer gives up
    return False


def lenient_chunk(size_line: bytes) -> Handler:
    """A chunk size that only a lenient parser (Python's int(x, 16)) reads as 16, then a proper end."""
    def handler(conn: Connection, request: Request) -> bool:
        conn.send(CHUNKED_HEAD + size_line + b"\r\n" + b"0123456789abcdef\r\n0\r\n\r\n")
        return True
    return handler


def fixed(answer: bytes) -> Handler:
    def handler(conn: Connection, request: Request) -> bool:
        conn.send(answer)
        return True
    return handler


def h_status_099(conn: Connection, request: Request) -> bool:
    conn.send(b"HTTP/1.1 099 Odd\r\n\r\n" + ok_answer(request))
    return True


def h_read_and_close(conn: Connection, request: Request) -> bool:
    return False  # the caller closes the socket


def h_crash_before_head(conn: Connection, request: Request) -> bool:
    os._exit(3)


def h_crash_mid_head(conn: Connection, request: Request) -> bool:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: te")
    time.sleep(0.05)
    os._exit(3)


def h_crash_mid_body(conn: Connection, request: Request) -> bool:
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n0123456789")
    time.sleep(0.05)
    os._exit(3)


def h_crash_mid_chunks(conn: Connection, request: Request) -> bool:
    conn.send(CHUNKED_HEAD + b"5\r\nhello\r\n5\r\nwor")
    time.sleep(0.05)
    os._exit(3)


def h_big_chunked(conn: Connection, request: Request) -> bool:
    megabytes = int(request.args.get("mb", "8"))
    conn.send(CHUNKED_HEAD + b"%x\r\n" % (megabytes * MB))
    block = b"b" * MB
    for _ in range(megabytes):
        conn.send(block)
    conn.send(b"\r\n0\r\n\r\n")
    return True


HANDLERS: dict[str, Handler] = {
    "/204-body": h_204_body,
    "/head-body": h_head_body,
    "/cl-chars": h_cl_chars,
    "/101": h_101,
    "/103": h_103,
    "/100-then-200": h_100_then_200,
    "/trickle-head": h_trickle_head,
    "/trickle-body": h_trickle_body,
    "/trickle-chunks": h_trickle_chunks,
    "/endless-100": h_endless_100,
    "/chunk-huge": bad_chunk_then_hang(b"40000000"),
    "/chunk-neg": h_chunk_neg,
    "/chunk-ffff": bad_chunk_then_hang(b"FFFFFFFFFFFF"),
    "/chunk-0x": lenient_chunk(b"0x10"),
    "/chunk-plus": lenient_chunk(b"+10"),
    "/chunk-underscore": lenient_chunk(b"1_0"),
    "/cl-superscript": fixed(simple(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    b"Content-Length: \xc2\xb2\r\n", b"hi")),
    "/cl-arabic": fixed(simple(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               b"Content-Length: \xd9\xa5\r\n", b"hello")),
    "/status-superscript": fixed(simple(b"HTTP/1.1 \xc2\xb2\xc2\xb2\xc2\xb2 OK\r\nContent-Type: text/plain\r\n"
                                        b"Content-Length: 2\r\n", b"hi")),
    "/status-099": h_status_099,
    "/status-600": fixed(simple(b"HTTP/1.1 600 Beyond\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n", b"hi")),
    "/header-cr": fixed(simple(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Bad: a\rb\r\n"
                               b"Content-Length: 2\r\n", b"hi")),
    "/header-nul": fixed(simple(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Bad: a\x00b\r\n"
                                b"Content-Length: 2\r\n", b"hi")),
    "/dup-cl": fixed(simple(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                            b"Content-Length: 2\r\n", b"hi")),
    "/conflicting-cl": fixed(simple(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                                    b"Content-Length: 6\r\n", b"hello!")),
    "/read-and-close": h_read_and_close,
    "/crash-before-head": h_crash_before_head,
    "/crash-mid-head": h_crash_mid_head,
    "/crash-mid-body": h_crash_mid_body,
    "/crash-mid-chunks": h_crash_mid_chunks,
    "/big-chunked": h_big_chunked,
}


def handler_for(path: str) -> Handler | None:
    if path == "/" or path.startswith("/ok"):
        return h_ok
    return HANDLERS.get(path)


def serve(sock: socket.socket, log_path: str) -> None:
    conn = Connection(sock, log_path)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(HANG)  # an idle keep-alive connection is dropped after a minute
        while True:
            request = conn.read_request()
            if request is None:
                return
            handler = handler_for(request.path)
            if handler is None:
                body = b"no such misbehaviour: " + request.path.encode("latin-1")
                conn.send(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                          % (len(body), body))
                continue
            if not handler(conn, request):
                return
    except OSError:
        return  # the peer gave up (reset, broken pipe, timeout): nothing to do
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def listen(port: int) -> socket.socket:
    """Bind 127.0.0.1:port, retrying for a few seconds while an app that just died still holds it."""
    until = time.monotonic() + 5
    while True:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("127.0.0.1", port))
            server.listen(64)
            return server
        except OSError:
            server.close()
            if time.monotonic() > until:
                raise
            time.sleep(0.05)


def main() -> None:
    port, log_path = int(sys.argv[1]), sys.argv[2]
    server = listen(port)
    server.settimeout(1.0)
    until = time.monotonic() + LIFETIME
    while time.monotonic() < until:
        try:
            sock, _ = server.accept()
        except TimeoutError:
            continue
        threading.Thread(target=serve, args=(sock, log_path), daemon=True).start()


if __name__ == "__main__":
    main()
