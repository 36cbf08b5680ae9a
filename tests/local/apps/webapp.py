"""A small real web app for reweb local's integration tests (stdlib only). Listens on $PORT.

  /text            text/plain, echoes ?id= in the body and in X-Request-Echo (after ?sleep=S)
  /binary          256 bytes 0..255, image/png
  /empty           204, no body
  /redirect        302 to /text
  /cookies         two Set-Cookie headers and a repeated X-Multi header
  /echo...         JSON: method, path, query, headers (list), body (base64)
  /stream          chunked: "first", then (after $GATE_FILE exists, at most 5 s) "second"
  /ticks           ticks of a background thread since the previous /ticks
  /sleep?s=S       sleep S seconds
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ticks = 0
last = 0


def ticker() -> None:
    global ticks
    while True:
        time.sleep(0.01)
        ticks += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        global last
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/text":
            ident = query.get("id", [""])[0]
            time.sleep(float(query.get("sleep", ["0"])[0]))
            self.send(200, f"hello {ident}".encode(), [("Content-Type", "text/plain; charset=utf-8"),
                                                       ("X-Request-Echo", ident)])
        elif url.path == "/binary":
            self.send(200, bytes(range(256)), [("Content-Type", "image/png")])
        elif url.path == "/empty":
            self.send_response(204)
            self.end_headers()
        elif url.path == "/redirect":
            self.send(302, b"", [("Location", "/text")])
        elif url.path == "/cookies":
            self.send(200, b"ok", [("Content-Type", "text/plain"), ("Set-Cookie", "a=1; Path=/"),
                                   ("Set-Cookie", "b=2; Path=/; HttpOnly"), ("X-Multi", "one"), ("X-Multi", "two")])
        elif url.path.startswith("/echo"):
            doc = {"method": self.command, "path": url.path, "query": url.query,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": base64.b64encode(body).decode()}
            self.send(200, json.dumps(doc).encode(), [("Content-Type", "application/json")])
        elif url.path == "/stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nfirst\r\n")
            self.wfile.flush()
            gate = os.environ.get("GATE_FILE", "/nonexistent")
            deadline = time.time() + 5
            while not os.path.exists(gate) and time.time() < deadline:
                time.sleep(0.01)
            self.wfile.write(b"6\r\nsecond\r\n0\r\n\r\n")
        elif url.path == "/ticks":
            now = ticks
            self.send(200, str(now - last).encode(), [("Content-Type", "text/plain")])
            last = now
        elif url.path == "/sleep":
            time.sleep(float(query.get("s", ["1"])[0]))
            self.send(200, b"slept", [("Content-Type", "text/plain")])
        else:
            self.send(404, b"not found", [("Content-Type", "text/plain")])


if __name__ == "__main__":
    threading.Thread(target=ticker, daemon=True).start()
    port = int(os.environ.get("PORT", "8080"))
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
