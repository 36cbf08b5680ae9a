"""Tools the release tests run, from PyPI, in their own venv under build/release-venv (made once; a marker file
records what was installed): check-jsonschema (GitHub's workflow schema is built in), zizmor (workflow
security audit, --offline), cyclonedx-python-lib with its JSON validation (the CycloneDX schemas ship inside)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

VENV = ROOT / "build" / "release-venv"
TOOLS = ["check-jsonschema>=0.29", "zizmor>=1.5", "cyclonedx-python-lib[json-validation]>=8"]


@pytest.fixture(scope="session")
def release_venv() -> Path:
    marker = VENV / "reweb-installed.txt"
    if not marker.exists() or marker.read_text() != "\n".join(TOOLS):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
        done = subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                               *TOOLS], capture_output=True, text=True, timeout=900, check=False,
                              env={**os.environ, "PIP_REQUIRE_VIRTUALENV": "1"})
        assert done.returncode == 0, f"pip install {' '.join(TOOLS)} failed:\n{done.stderr[-3000:]}"
        marker.write_text("\n".join(TOOLS))
    return VENV / "bin"
