"""An app whose listening socket outlives it: a standby child, forked at start, takes over the socket once the
parent has exited (as a prefork server's other workers, or a supervisor's next worker, keep a port open).

    python3 standby_app.py PORT LOG

Every request the app receives, by the parent or the standby, is a line "<who> <path>" in LOG. /crash makes the
parent exit at once (status 3), without an answer; every other path answers 200 "ok" with keep-alive.
Binds 127.0.0.1 only.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def main() -> None:
    port, log = int(sys.argv[1]), sys.argv[2]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    parent = os.getpid()
    who = "parent"
    if os.fork() == 0:
        who = "standby"
        for _ in range(60 * 100):  # until the parent has gone (60 s at most)
            if os.getppid() != parent:
                break
            time.sleep(0.01)
        else:
            os._exit(0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with open(log, "a") as file:
                file.write(f"{who} {self.path}\n")
            if self.path.startswith("/crash") and who == "parent":
                os._exit(3)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", port), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = listener
    server.serve_forever()


if __name__ == "__main__":
    main()
