"""An answer the app sent without a Content-Type gets what each AWS front door gives it, and nothing the
emulator's web server would add on its own (aiohttp labels any untyped body application/octet-stream).

What each front door does, and where that comes from, is in docs/local.md ("Content-Type the app never sent").
"""

from __future__ import annotations

import http.client
import sys

import pytest

from tests.support.localharness import APPS, start_local

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]  # every test starts processes

UNTYPED_APP = [sys.executable, str(APPS / "untyped_app.py")]

# (front door, streamed?) -> the Content-Type the client gets, None for no header at all
EXPECTED = {
    ("rest", False): "application/json",
    ("http-api", False): "application/json",
    ("function-url", False): "application/json",
    ("alb", False): "application/octet-stream",
    ("alb-multi", False): "application/octet-stream",
    ("lattice", False): None,
    ("rest", True): "application/json",
    ("function-url", True): "application/octet-stream",
}


def get(port: int, path: str) -> tuple[int, str | None, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(("source", "stream"), list(EXPECTED),
                         ids=[f"{s}{'-stream' if t else ''}" for s, t in EXPECTED])
def test_an_untyped_answer_gets_what_the_front_door_gives(source: str, stream: bool) -> None:
    local = start_local(["--source", source, "--concurrency", "1", *(["--stream"] if stream else [])], app=UNTYPED_APP)
    try:
        for path, body in (("/untyped", b"no type here"), ("/untyped-chunks", b"firstsecond")):
            status, content_type, got = get(local.port, path)
            assert (status, got) == (200, body), (path, status, got[:200], "\n".join(local.lines))
            assert content_type == EXPECTED[source, stream], (path, content_type)
    finally:
        local.stop()
