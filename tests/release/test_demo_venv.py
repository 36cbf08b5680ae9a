"""`bash demo/run.sh` with stock Debian 12's Python (/usr/bin/python3, PEP 668 "externally managed"): the demo
makes its own venv, says so, installs Datasette and reweb there, and serves; the system Python is untouched."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

DEBIAN_PYTHON = Path("/usr/bin/python3")


def importable(module: str) -> bool:
    return subprocess.run([str(DEBIAN_PYTHON), "-c", f"import {module}"], capture_output=True,
                          timeout=60, check=False).returncode == 0


@pytest.mark.skipif(not (DEBIAN_PYTHON.parent.parent / "lib" / "python3.11" / "EXTERNALLY-MANAGED").exists(),
                    reason="needs Debian 12's /usr/bin/python3 (externally managed)")
def test_demo_runs_from_its_own_venv_with_debian_python(tmp_path: Path) -> None:
    assert not importable("datasette")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHON": str(DEBIAN_PYTHON), "REWEB_DEMO_VENV": str(venv), "REWEB_DEMO_PORT": str(port)}
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["sh", str(ROOT / "demo" / "run.sh")], env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 600  # pip installs Datasette the first time
        page = b""
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                    page = response.read()
                break
            time.sleep(1)
        text = log.read_text(errors="replace")
        assert b"Datasette" in page, text[-3000:]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert f"demo: creating a virtual environment in {venv}" in text
    assert (venv / "bin" / "datasette").exists()
    assert "externally-managed-environment" not in text
    assert not importable("datasette")  # nothing went to the system Python
