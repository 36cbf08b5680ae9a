"""The app folder `reweb init` is run on in tests/deploy (a static site under python3 -m http.server), the run
itself, and a reading of the template it writes: shared by test_init.py and test_init_readme.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

APP = ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1", "-d", "www"]
PAGE = "<!doctype html><title>reweb init</title><p>written by reweb init, served by python3 -m http.server</p>\n"


def make_project(tmp_path: Path) -> Path:
    """An app's folder: a static site served by the standard library's http.server."""
    folder = tmp_path / "my-site"
    (folder / "www").mkdir(parents=True)
    (folder / "www" / "index.html").write_text(PAGE)
    return folder


def init(cwd: Path, *args: str, command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "reweb", "init", *args, "--", *(APP if command is None else command)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REWEB_", "AWS_LWA_"))}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=env, check=False)


def default_of(template: str, parameter: str) -> str:
    found = re.search(rf"^  {parameter}:\n(?:    .*\n)*?    Default: (.*)$", template, re.M)
    assert found, parameter
    return found.group(1)
