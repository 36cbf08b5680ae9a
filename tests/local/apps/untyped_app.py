"""A small real app (stdlib only) whose answers carry no Content-Type, and a streaming one. Listens on $PORT.

  /untyped         200, "no type here" with a Content-Length and no Content-Type
  /untyped-chunks  200, chunked, no Content-Type: "first", then "second"
  /events          200, text/event-stream, chunked: one event, then (after $GATE_FILE exists, at most 5 s) another
  /big?mb=N        200, application/octet-stream, N MiB of b"x" (chunked, 1 MiB at a time)
  /headers         200, JSON: the request headers the app received (list of pairs)
"""

from __future__ import annotations

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start_chunked(self, content_type: str | None) -> None:
        self.send_response(200)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/untyped":
            body = b"no type here"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        elif url.path == "/untyped-chunks":
            self.start_chunked(None)
            self.chunk(b"first")
            self.chunk(b"second")
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/events":
            self.start_chunked("text/event-stream")
            self.chunk(b"data: one\n\n")
            gate = os.environ.get("GATE_FILE", "/nonexistent")
            deadline = time.time() + 5
            while not os.path.exists(gate) and time.time() < deadline:
                time.sleep(0.01)
            self.chunk(b"data: two\n\n")
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/big":
            mib = int(parse_qs(url.query).get("mb", ["1"])[0])
            self.start_chunked("application/octet-stream")
            for _ in range(mib):
                self.chunk(b"x" * (1024 * 1024))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/headers":
            body = json.dumps([[k, v] for k, v in self.headers.items()]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
