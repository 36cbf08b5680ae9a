"""Init of the one-file executable and of cli.run_adapter (issue 21, goal 3: an Init that reweb adds nothing to).

- cli.run_adapter runs init with the cyclic garbage collector off (it would walk the new modules and classes again
  and again) and, once init is done, freezes what init made and turns the collector back on.
- The executable's C main() spawns an app whose command needs /bin/sh as early as a plain one: those tests are
  tests/integration/test_early_spawn.py's, which the executable stage runs against the executable.
- Its modules are frozen into the executable; the SBOM still comes out of the zip appended to it.

The executable's tests run the file named by REWEB_TEST_EXECUTABLE, else dist/reweb-linux-x86_64 (scripts/build),
and are skipped when there is none.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reweb import cli

ROOT = Path(__file__).resolve().parents[2]
EXECUTABLE = Path(os.environ.get("REWEB_TEST_EXECUTABLE") or ROOT / "dist" / "reweb-linux-x86_64").resolve()
needs_executable = pytest.mark.skipif(not EXECUTABLE.is_file(), reason=f"no executable at {EXECUTABLE}")


# -- the garbage collector during init -------------------------------------------------------------------------

class _Stop(Exception):
    pass


@pytest.fixture
def collector() -> Iterator[None]:
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    yield
    gc.unfreeze()
    gc.enable()
    signal.signal(signal.SIGTERM, handlers[0])
    signal.signal(signal.SIGINT, handlers[1])


def test_init_runs_without_the_collector_and_the_invocations_with_it(monkeypatch: pytest.MonkeyPatch,
                                                                    collector: None) -> None:
    seen: dict[str, bool] = {}
    for step in ("read_settings", "start_app", "make_adapter", "wait_for_app", "snapshot"):
        monkeypatch.setattr(cli._Init, step, lambda self, step=step: seen.setdefault(step, gc.isenabled()))

    class Adapter:
        def run(self) -> int:
            seen["run"] = gc.isenabled()
            seen["frozen"] = gc.get_freeze_count() > 0
            raise _Stop

    class App:
        def stop(self, grace: float) -> None:
            pass

    monkeypatch.setattr(cli._Init, "adapter", Adapter(), raising=False)
    monkeypatch.setattr(cli._Init, "app", App(), raising=False)
    gc.unfreeze()
    with pytest.raises(_Stop):
        cli.run_adapter(["--", "app"])
    assert seen == {"read_settings": False, "start_app": False, "make_adapter": False, "wait_for_app": False,
                    "snapshot": False, "run": True, "frozen": True}


def test_a_failed_init_turns_the_collector_back_on(monkeypatch: pytest.MonkeyPatch, collector: None) -> None:
    def fail(self: cli._Init) -> None:
        raise cli.InitFailure("", "", status=3)

    monkeypatch.setattr(cli._Init, "read_settings", fail)
    assert cli.run_adapter(["--", "app"]) == 3
    assert gc.isenabled()


# -- the executable ----------------------------------------------------------------------------------------------

@needs_executable
def test_the_executable_still_prints_its_sbom() -> None:
    done = subprocess.run([str(EXECUTABLE), "--version", "--verbose"], capture_output=True, text=True, timeout=30,
                          env={}, check=True)
    first, _, rest = done.stdout.partition("\n")
    assert first.startswith("reweb ") and json.loads(rest)["bomFormat"] == "CycloneDX"
