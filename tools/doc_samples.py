"""Print the real console output that the docs show as samples, from a short real `reweb local` session.

    python3 tools/doc_samples.py banner    # reweb local's start, as docs/local.md's first example runs it
    python3 tools/doc_samples.py summary   # the summary printed at Ctrl-C after some traffic

The README and docs/*.md mark such samples with `<!-- real-output: python3 tools/doc_samples.py ... -->`;
tests/test_docs.py runs the command and compares the sample with its output (volatile numbers normalised), so a
sample is always one that a real run prints. To refresh a sample, run the command and paste what it prints.

Only loopback traffic; every wait is bounded; the session's process is stopped (SIGINT, as Ctrl-C) by its pid.
The samples show the default network isolation (a network namespace per instance, which needs root); where
there is none, the command says why and exits 77 (the docs test skips the comparison then).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from reweb.local.ports import free_port

# The app of the summary session: /fail answers 500 (an invocation error with REWEB_ERROR_STATUS_CODES=500);
# /together/NAME answers once two such requests are in apps at once (a file each in a shared folder, 30 s at
# most), so two instances are cold-started whatever the machine's speed; anything else answers at once.
APP = """import http.server, os, sys, time
port, folder = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/together/"):
            open(os.path.join(folder, self.path.rsplit("/", 1)[1]), "w").close()
            deadline = time.monotonic() + 30
            while len(os.listdir(folder)) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        status = 500 if self.path == "/fail" else 200
        self.send_response(status); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


class Session:
    """`reweb local` with its console collected line by line."""

    def __init__(self, args: list[str], settings: dict[str, str] | None = None) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REWEB_", "AWS_LWA_"))}
        env.update(settings or {})
        self.process = subprocess.Popen([sys.executable, "-m", "reweb", "local", "--port", str(self.port), *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env, text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"doc_samples: no {text!r} from reweb local:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.05)

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=60) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> list[str]:
        """Ctrl-C (SIGINT to reweb local alone, as a terminal sends it), then its whole console."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.reader.join(10)
        return self.lines


def banner() -> list[str]:
    # docs/local.md's first example, on a free port instead of 3000.
    session = Session(["--source", "http-api", "--", "python3", "-m", "http.server", "8080", "--bind", "127.0.0.1"])
    session.wait_for("reweb local: ready:")
    return session.stop()


def summary() -> list[str]:
    """8 invocations, 2 cold starts (two at once), 2 errors, at 1024 MB."""
    app_port = str(free_port())
    with tempfile.TemporaryDirectory(prefix="reweb-doc-sample-") as folder:
        os.chmod(folder, 0o777)  # the instances' apps may run as another user
        session = Session(["--source", "http-api", "--concurrency", "2", "--memory", "1024", "--app-port", app_port,
                           "--", sys.executable, "-c", APP, app_port, folder], {"REWEB_ERROR_STATUS_CODES": "500"})
        session.wait_for("reweb local: ready:")
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(session.get, ["/together/1", "/together/2"]))
        for path in ["/", "/fail", "/a", "/fail", "/b", "/c"]:
            session.get(path)
        session.wait_for("REPORT RequestId", timeout=30)
        return session.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sample", choices=["banner", "summary"])
    args = parser.parse_args()
    from reweb.local import netns

    if why := netns.available():
        print(f"doc_samples: no network namespaces here ({why}): the samples show reweb local with them",
              file=sys.stderr)
        return 77
    lines = banner() if args.sample == "banner" else summary()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
