"""A Runtime API that records reweb's /init/error (tests/integration/conftest.py's `init_api` fixture), and the
echo app the process tests start."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

from tests.support.echo import ECHO
from tests.support.runtime import reweb_argv

__all__ = ["ECHO", "InitErrorApi"]


class InitErrorApi:
    """A Runtime API that records /init/error and answers /next with nothing (reweb idles)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.errors: list[tuple[str, dict[str, object]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path.startswith("/2020-01-01/extension/"):  # no Extensions API here
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.errors.append((self.headers.get("Lambda-Runtime-Function-Error-Type", ""), json.loads(body)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                time.sleep(30)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def init_error(self, env: dict[str, str]) -> tuple[int, str, str]:
        full = {k: v for k, v in os.environ.items() if not k.startswith("REWEB_")}
        full.update({"AWS_LAMBDA_RUNTIME_API": self.address, **env})
        result = subprocess.run(reweb_argv(), env=full, capture_output=True, timeout=20)
        assert len(self.errors) == 1, self.errors
        error_type, body = self.errors.pop()
        return result.returncode, error_type, str(body["errorMessage"])
