"""What the adapter's init imports, module by module: `signal` stays out (its three IntEnums are built at import,
~5% of the one-file executable's init instructions); reweb's own modules use the C module `_signal`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
# Everything run_adapter() imports before the first invocation (as test_cold_imports lists it).
ADAPTER_PATH = ("reweb.cli", "reweb.config", "reweb.log", "reweb.runtime", "reweb.adapter", "reweb.app",
                "reweb.extension", "reweb.events", "reweb.tree")


def _loaded_after(code: str) -> set[str]:
    probe = "import sys; sys.path.insert(0, sys.argv[1]); " + code + "; print('\\n'.join(sys.modules))"
    run = subprocess.run([sys.executable, "-I", "-S", "-c", probe, str(SRC)], check=True, capture_output=True,
                         text=True)
    return set(run.stdout.split())


def test_init_does_not_import_signal() -> None:
    loaded = _loaded_after("; ".join(f"import {name}" for name in ADAPTER_PATH))
    assert "reweb.adapter" in loaded  # the probe imported what it says
    assert "signal" not in loaded
    assert "_signal" in loaded


def test_signal_names_still_come_from_signal() -> None:
    # The exit descriptions name the signal (imported then, on that path only).
    loaded = _loaded_after("from reweb.app import describe_exit; assert describe_exit(-9) == 'the app was killed "
                           "by SIGKILL', describe_exit(-9); assert describe_exit(-200) == 'the app was killed by "
                           "signal 200'")
    assert "signal" in loaded


def test_reweb_init_modules_do_not_import_contextlib() -> None:
    # contextlib builds 18 classes at import; the modules reweb's init runs from use try/except instead.
    # (reweb.adapter is left out: its own import of contextlib goes with the hot path's modules.)
    loaded = _loaded_after("import reweb.cli, reweb.app, reweb.tree, reweb.log, reweb.extension")
    assert "reweb.app" in loaded
    assert "contextlib" not in loaded
