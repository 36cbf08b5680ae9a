"""REWEB_BREATHING_ROOM_MS: work the app does after answering runs before Lambda freezes the sandbox. With
reweb local's freezing (SIGSTOP as soon as the runtime asks for the next invocation), without it the app's
after-answer write waits for the next invocation; with it, it happens at once."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from reweb.local.ports import free_port
from tests.support.http_client import fetch
from tests.support.localharness import start_local

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]  # every test starts processes

APP = """import http.server, sys, threading, time
marker, port = sys.argv[1], int(sys.argv[2])
def after_answer(n):
    time.sleep(1.0)  # flushing, a cron-like hook... (long: the freeze must come first even on a loaded machine)
    with open(marker, "a") as f:
        f.write(f"done {n}\\n")
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
        threading.Thread(target=after_answer, args=(self.path,)).start()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def written_within(marker: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("room_ms", ["0", "3000"])
def test_after_answer_work_runs_before_the_freeze_only_with_breathing_room(tmp_path: Path, room_ms: str) -> None:
    (tmp_path / "app.py").write_text(APP)
    marker, port = tmp_path / "marker", str(free_port())
    local = start_local(["--concurrency", "1"], app=[sys.executable, str(tmp_path / "app.py"), str(marker), port],
                        env={"REWEB_APPLICATION_PORT": port, "REWEB_BREATHING_ROOM_MS": room_ms})
    try:
        assert fetch(local.port, "/first").body == b"ok"
        if room_ms == "0":
            assert not written_within(marker, 2.5), "the frozen sandbox ran the app's after-answer work"
            assert fetch(local.port, "/second").body == b"ok"  # the thaw lets it run
            assert written_within(marker, 10.0)
        else:  # 1 s of work inside 3 s of room
            assert written_within(marker, 10.0), "the after-answer work waited for the next invocation"
    finally:
        local.stop()
