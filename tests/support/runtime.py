"""Which reweb the integration tests run: the package through this interpreter (default), or an executable
named by REWEB_TEST_EXECUTABLE (the one-file build: CI runs the integration tests against both)."""

from __future__ import annotations

import os
import sys


def reweb_argv() -> list[str]:
    executable = os.environ.get("REWEB_TEST_EXECUTABLE", "")
    return [os.path.abspath(executable)] if executable else [sys.executable, "-m", "reweb"]
