"""`reweb init`'s check as a newcomer meets it: it asks the app, through reweb local, for exactly the path the
adapter polls for readiness, even when --wait-path holds a space or non-ASCII text."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reweb.config import load
from reweb.local.ports import free_port
from reweb.scaffold.check import check_app
from reweb.scaffold.plan import Plan, ScaffoldError

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]  # every test starts reweb local and an app

RECORDER = """import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[2], "a", encoding="ascii", errors="backslashreplace") as seen:
            seen.write(self.path + "\\n")  # the request target as it came, byte for byte
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


@pytest.mark.parametrize("front_door", ["function-url", "alb"])
def test_the_check_asks_for_the_path_the_adapter_polls(tmp_path: Path, front_door: str) -> None:
    wait_path = "/ready now/é"
    adapter_polls = load({"REWEB_WAIT_PATH": wait_path}, argv=("app",)).wait_path
    assert adapter_polls == "/ready%20now/%C3%A9"  # percent-encoded as AWS Lambda Web Adapter does
    (tmp_path / "app.py").write_text(RECORDER)
    seen, port = tmp_path / "seen.txt", free_port()
    plan = Plan(command=[sys.executable, str(tmp_path / "app.py"), str(port), str(seen)], front_door=front_door,
                name="check", out=tmp_path / "out", context=tmp_path, port=port, wait_path=wait_path)
    check_app(plan)  # raises ScaffoldError when the app gets no request from the check
    targets = seen.read_text().splitlines()
    # The adapter's readiness polls, then the check's own request through the front door: one path for all.
    assert len(targets) >= 2 and set(targets) == {adapter_polls}, targets


def test_an_app_never_ready_is_told_the_codes_it_must_answer(tmp_path: Path) -> None:
    # The app answers 404, which the default (100-499) takes as ready; --env REWEB_WAIT_CODE=200 does not.
    (tmp_path / "app.py").write_text(RECORDER.replace("send_response(200)", "send_response(404)"))
    port = free_port()
    plan = Plan(command=[sys.executable, str(tmp_path / "app.py"), str(port), str(tmp_path / "seen.txt")],
                front_door="function-url", name="check", out=tmp_path / "out", context=tmp_path, port=port,
                wait_path="/healthz", env={"REWEB_WAIT_CODE": "200"})
    with pytest.raises(ScaffoldError, match=r"ready means GET /healthz answers 200\)") as caught:
        check_app(plan)
    assert "Runtime.InitTimeout" in str(caught.value), caught.value
    assert "/healthz" in (tmp_path / "seen.txt").read_text(), "the adapter never polled the app"
