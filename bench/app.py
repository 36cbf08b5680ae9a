"""The trivial app the benchmark puts behind reweb (run as a script; reweb starts it as its child).

    python3 bench/app.py --port 8080 [--nagle] [--listen-delay-ms 200] [--ready-file PATH]

Every answer is decided by the query string and cached by request target, so the app costs almost nothing:
    resp=N        response body size in bytes (default 2)
    type=text|bin text/html (JSON-escaped by the adapter) or application/octet-stream (base64)
    sleep=MS      sleep before answering (concurrency tests)
    stream=1      chunked response of `resp` bytes in `chunk`-byte chunks; first_delay=MS pauses after the first
The fast variant is a raw threaded socket server that writes each response in one send. The --nagle variant is
http.server (BaseHTTPRequestHandler, HTTP/1.1) which writes headers and body in two sends: the Nagle trap.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from urllib.parse import parse_qs

from payloads import body, content_type

_SCRATCH_SIZE = 1 << 20


class Answer:
    """What a request target asks for, with its bytes built once."""

    def __init__(self, target: bytes) -> None:
        _, _, query = target.decode("latin-1").partition("?")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        self.size = int(params.get("resp", "2"))
        self.kind = params.get("type", "text")
        self.sleep = int(params.get("sleep", "0")) / 1000
        self.stream = params.get("stream") == "1"
        self.chunk = int(params.get("chunk", "65536"))
        self.first_delay = int(params.get("first_delay", "0")) / 1000
        self.body = body(self.size, self.kind) if not self.stream else b""
        ctype = content_type(self.kind).encode()
        if self.stream:
            data = body(self.chunk, self.kind)
            self.head = b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
            self.chunk_bytes = b"%x\r\n" % len(data) + data + b"\r\n"
        else:
            self.head = (b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype
                         + b"\r\nContent-Length: %d\r\n\r\n" % len(self.body))
        self.whole = self.head + self.body

    def send_stream(self, sock: socket.socket) -> None:
        sock.sendall(self.head + self.chunk_bytes)
        sent = self.chunk
        if self.first_delay:
            time.sleep(self.first_delay)
        while sent + self.chunk <= self.size:
            sock.sendall(self.chunk_bytes)
            sent += self.chunk
        rest = self.size - sent
        tail = b"%x\r\n" % rest + body(self.chunk, self.kind)[:rest] + b"\r\n" if rest > 0 else b""
        sock.sendall(tail + b"0\r\n\r\n")


_answers: dict[bytes, Answer] = {}


def answer_for(target: bytes) -> Answer:
    found = _answers.get(target)
    if found is None:
        found = _answers[target] = Answer(target)
    return found


class Marks:
    """Writes monotonic timestamps of 'listen' and the first request to a file (cold-start measurements)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.first_seen = False

    def mark(self, name: str) -> None:
        if self.path:
            with open(self.path, "a") as out:
                out.write(f"{name} {time.monotonic():.6f}\n")

    def first_request(self) -> None:
        if not self.first_seen:
            self.first_seen = True
            self.mark("first_request")


def _skip(sock: socket.socket, buf: bytearray, count: int, scratch: memoryview) -> None:
    take = min(count, len(buf))
    del buf[:take]
    count -= take
    while count > 0:
        got = sock.recv_into(scratch, min(count, len(scratch)))
        if not got:
            raise ConnectionError("client went away mid-body")
        count -= got


def _read_line(sock: socket.socket, buf: bytearray) -> bytes:
    while (end := buf.find(b"\r\n")) < 0:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("client went away")
        buf += data
    line = bytes(buf[:end])
    del buf[:end + 2]
    return line


def _skip_chunked(sock: socket.socket, buf: bytearray, scratch: memoryview) -> None:
    while True:
        size = int(_read_line(sock, buf).split(b";")[0], 16)
        if size == 0:
            while _read_line(sock, buf):
                pass
            return
        _skip(sock, buf, size + 2, scratch)


def serve_connection(sock: socket.socket, marks: Marks) -> None:
    scratch = memoryview(bytearray(_SCRATCH_SIZE))
    buf = bytearray()
    with sock:
        try:
            while True:
                while (end := buf.find(b"\r\n\r\n")) < 0:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                head = bytes(buf[:end]).lower()
                del buf[:end + 4]
                marks.first_request()
                target = head.split(b" ", 2)[1]
                if (at := head.find(b"\ncontent-length:")) >= 0:
                    line_end = head.find(b"\n", at + 1)
                    length = int(head[at + 16:line_end if line_end > 0 else len(head)])
                    _skip(sock, buf, length, scratch)
                elif b"\ntransfer-encoding: chunked" in head:
                    _skip_chunked(sock, buf, scratch)
                ans = answer_for(target)
                if ans.sleep:
                    time.sleep(ans.sleep)
                if ans.stream:
                    ans.send_stream(sock)
                else:
                    sock.sendall(ans.whole)
        except (ConnectionError, OSError):
            return


def serve_fast(listener: socket.socket, marks: Marks) -> None:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, marks), daemon=True).start()


def serve_nagle(listener: socket.socket, marks: Marks) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive; headers and body leave in two separate sends

        def do_GET(self) -> None:
            marks.first_request()
            ans = answer_for(self.path.encode("latin-1"))
            self.send_response(200)
            self.send_header("Content-Type", content_type(ans.kind))
            self.send_header("Content-Length", str(len(ans.body)))
            self.end_headers()
            self.wfile.write(ans.body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def server_bind(self) -> None:  # the socket is already bound and listening
            self.server_address = self.socket.getsockname()

        def server_activate(self) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.serve_forever(poll_interval=0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nagle", action="store_true", help="http.server variant: headers and body sent apart")
    parser.add_argument("--listen-delay-ms", type=float, default=0.0)
    parser.add_argument("--ready-file")
    args = parser.parse_args(argv)
    marks = Marks(args.ready_file)
    if args.listen_delay_ms:
        time.sleep(args.listen_delay_ms / 1000)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    marks.mark("listen")
    try:
        (serve_nagle if args.nagle else serve_fast)(listener, marks)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
