"""A small app for the test suite: it echoes what it received and can misbehave on request.

GET/POST anything      -> JSON {method, target, path, query, headers: [[name, value]...], body_b64}
/status/N              -> status N, echo body
/cookies               -> two Set-Cookie with the same name, plus one more
/binary?size=N         -> N bytes of non-UTF-8 data, application/octet-stream
/text?size=N           -> N bytes of text/plain
/redirect?to=URL       -> 302 Location: URL
/crash                 -> the process exits at once (status 3), no answer
/hang                  -> never answers
/garbage               -> answers bytes that are not HTTP
/stream?chunks=N&delay=S[&die_after=K][&gate=DIR] -> chunked text, one chunk every S seconds (crash before
                         chunk K); with gate, chunk I (I >= 1) is written only once the file DIR/I exists (20 s at
                         most), and says whether it waited for it ("gated") or not ("ungated")
/events                -> POST echo of non-HTTP events: JSON {"received": <event>}
/ready                 -> 200 only after READY_AFTER seconds since start (503 before)
/barrier/...           -> with ECHO_BARRIER=N, answers only once N such requests are in the app together

Run: python echo_app.py PORT   (binds 127.0.0.1)
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STARTED = time.monotonic()
READY_AFTER = float(os.environ.get("READY_AFTER", "0"))
SLEEP = float(os.environ.get("ECHO_SLEEP", "0"))  # every request takes this long (concurrency tests)
# ECHO_BARRIER=N: every request for /barrier/... waits until N of them are inside the app at once (20 s at
# most, then 500): concurrency shown by an event, not by timing.
BARRIER = threading.Barrier(int(os.environ["ECHO_BARRIER"]), timeout=20) if os.environ.get("ECHO_BARRIER") else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self) -> None:
        body = self._body()
        if SLEEP:
            time.sleep(SLEEP)
        if BARRIER is not None and self.path.startswith("/barrier/"):
            try:
                BARRIER.wait()
            except threading.BrokenBarrierError:
                self._send(500, b"barrier broken: fewer requests than ECHO_BARRIER arrived together", [])
                return
        url = urlsplit(self.path)
        args = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        if path == "/crash":
            os._exit(3)
        if path == "/hang":
            time.sleep(3600)
        if path == "/garbage":
            self.wfile.write(b"this is not HTTP\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/ready":
            ok = time.monotonic() - STARTED >= READY_AFTER
            self._send(200 if ok else 503, b"ok" if ok else b"starting", [("Content-Type", "text/plain")])
            return
        if path == "/cookies":
            self._send(200, b"cookies", [("Content-Type", "text/plain"), ("Set-Cookie", "a=1; Path=/"),
                                         ("Set-Cookie", "a=2; Path=/sub"), ("Set-Cookie", "b=3; HttpOnly"),
                                         ("X-Multi", "one"), ("X-Multi", "two")])
            return
        if path == "/binary":
            size = int(args.get("size", "256"))
            data = (bytes(range(256)) * (size // 256 + 1))[:size]
            self._send(200, data, [("Content-Type", "application/octet-stream")])
            return
        if path == "/text":
            size = int(args.get("size", "1024"))
            data = (b"reweb text line \xce\xbb\n" * (size // 19 + 1))[:size]
            data = data.decode("utf-8", "ignore").encode().ljust(size, b".")  # valid UTF-8, exact size
            self._send(200, data, [("Content-Type", "text/plain; charset=utf-8")])
            return
        if path == "/redirect":
            self._send(302, b"", [("Location", args.get("to", "/"))])
            return
        if path == "/stream":
            chunks, delay = int(args.get("chunks", "3")), float(args.get("delay", "0.2"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            die_after = int(args.get("die_after", "-1"))
            gate = args.get("gate", "")
            for i in range(chunks):
                if i == die_after:
                    os._exit(4)  # mid-stream crash
                how = ""
                if gate and i:  # the client's receipt of the previous chunk opens the gate of this one
                    until = time.monotonic() + 20
                    while not os.path.exists(os.path.join(gate, str(i))) and time.monotonic() < until:
                        time.sleep(0.01)
                    how = " gated" if os.path.exists(os.path.join(gate, str(i))) else " ungated"
                piece = f"chunk {i} at {time.time():.3f}{how}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                time.sleep(delay)
            self.wfile.write(b"0\r\n\r\n")
            return
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            if status in (204, 304):
                self._send(status, b"", [])
                return
        else:
            status = 200
        if path == "/events":
            payload = json.dumps({"received": json.loads(body or b"null")}).encode()
            self._send(status, payload, [("Content-Type", "application/json")])
            return
        echo = {
            "method": self.command,
            "target": self.path,
            "path": path,
            "query": url.query,
            "headers": [[k, v] for k, v in self.headers.raw_items()],
            "body_b64": base64.b64encode(body).decode(),
        }
        self._send(status, json.dumps(echo).encode(), [("Content-Type", "application/json")])

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
