"""Just enough of the Chrome DevTools protocol to drive Debian's headless Chromium from a test.

aiohttp's WebSocket client talks to the browser; nothing is downloaded (no Playwright, no browser bundle).
`chromium()` apt-installs Debian's chromium when it is missing; `open_page()` starts a private headless instance
that can reach 127.0.0.1 only, and yields a `DevTools` session on its first tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,900"]
#: Every host name fails to resolve, so the page can reach nothing but 127.0.0.1.
LOOPBACK_ONLY = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def chromium() -> str:
    """Debian's chromium (and a font), installed with apt when missing; idempotent."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 and not os.environ.get("REWEB_REQUIRE_APPS"):
        pytest.skip("chromium is not installed and only root can apt-get install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-qq"]
    install = [*apt, "install", "-y", "chromium", "fonts-dejavu-core"]
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run([*apt, "update"], env=env, capture_output=True, timeout=300)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"cannot install chromium:\n{done.stdout}\n{done.stderr}"
    found = shutil.which("chromium")
    assert found, "chromium installed but not on PATH"
    return found


class DevTools:
    """Calls, and the events seen so far (in order; `mark()` and `since=` pick the ones after a point)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self.waiting:
                self.waiting.pop(data["id"]).set_result(data)
            elif "method" in data:
                self.events.append(data)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = fut
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, 30)
        assert "error" not in reply, f"{method}: {reply['error']}"
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        out = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in out, out
        return out["result"].get("value")

    def mark(self) -> int:
        """A point in the event list: pass it as `since` to wait for an event that comes after it."""
        return len(self.events)

    async def wait_event(self, method: str, timeout: float = 20.0, since: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events[since:]:
                if event["method"] == method:
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {method} event")


@contextlib.asynccontextmanager
async def open_page(host_rules: str = LOOPBACK_ONLY, flags: Sequence[str] = ()) -> AsyncIterator[DevTools]:
    """A fresh headless Chromium (own profile, killed on exit) and a DevTools session on its blank first tab."""
    exe = chromium()
    with tempfile.TemporaryDirectory(prefix="reweb-chromium-") as profile:
        proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--host-resolver-rules={host_rules}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
                assert proc.poll() is None and time.monotonic() < deadline, "chromium did not start"
                await asyncio.sleep(0.05)
            devtools_port = int(port_file.read_text().split()[0])
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as resp:
                    pages = [t for t in await resp.json() if t["type"] == "page"]
                async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    cdp = DevTools(ws)
                    try:
                        yield cdp
                    finally:
                        cdp.reader.cancel()
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
