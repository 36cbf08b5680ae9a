"""Fixtures of the real-application suite: databases, one cold-started app per (module, mode), the results file.

Skips the whole folder only when the apps are not installed (tests/apps/install.sh) AND REWEB_REQUIRE_APPS is unset;
with REWEB_REQUIRE_APPS=1 (CI) anything missing is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appkit import (
    KIT,
    MODES,
    REWEB_MODES,
    Site,
    mariadb_server,
    postgres_server,
    reweb_local_available,
    run_site,
    take_limits,
)

# A test run writes here (build/ is not tracked: running the tests leaves `git status` clean); the committed
# tests/apps/results/results.json changes only by `python tools/compat_table.py --record`.
RESULTS = Path(os.environ.get("REWEB_APPS_RESULTS",
                              Path(__file__).resolve().parents[2] / "build" / "apps-results.json"))
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")


def apps_installed() -> bool:
    """The kit is there, and this run can make its app user and run apps as it (root): appkit.APP_USER."""
    return (KIT / ".installed").exists() and os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    if REQUIRE or apps_installed():
        return
    skip = pytest.mark.skip(reason="apps not installed (run tests/apps/install.sh, or set REWEB_REQUIRE_APPS=1)")
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


# ---------------------------------------------------------------------------------------------------------- databases
# Per module, not per session: the servers' fixed ports and /tmp paths are the machine's, held only while this
# run holds the machine lock (tests/support/machine_lock.py), which it gives back when it leaves tests/apps; a
# session's server would outlive that and meet another run's. A start costs a few seconds per module that needs it.
@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    """PostgreSQL on 127.0.0.1:54329 for the module (appkit.postgres_server)."""
    if not apps_installed():
        pytest.fail("apps not installed: run tests/apps/install.sh")
    with postgres_server() as port:
        yield port


@pytest.fixture(scope="module")
def mariadb() -> Iterator[int]:
    """MariaDB on 127.0.0.1:33069 for the module (appkit.mariadb_server)."""
    if not apps_installed():
        pytest.fail("apps not installed: run tests/apps/install.sh")
    with mariadb_server() as port:
        yield port


# --------------------------------------------------------------------------------------------------------------- apps
_reweb_local: bool | None = None


@pytest.fixture(scope="module", params=MODES)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    """The module's app (its SPEC), cold-started for one mode; the module's tests then run against it."""
    global _reweb_local
    mode: str = request.param
    spec = request.module.SPEC
    if not apps_installed():
        pytest.fail("apps not installed: run tests/apps/install.sh")
    for dep in getattr(request.module, "NEEDS", ()):
        request.getfixturevalue(dep)
    if mode in REWEB_MODES:
        if _reweb_local is None:
            _reweb_local = reweb_local_available()
        if not _reweb_local:
            if REQUIRE:
                pytest.fail("`reweb local` is not available")
            pytest.skip("`reweb local` is not available yet")
    _outcomes.setdefault((spec.name, mode), {"passed": [], "failed": [], "skipped": []})
    with run_site(spec, mode) as s:
        if s.cold_start_ms is not None:
            _cold[(spec.name, mode)] = round(s.cold_start_ms)
        yield s


# ------------------------------------------------------------------------------------------------------------ results
_outcomes: dict[tuple[str, str], dict[str, list[str]]] = {}
_cold: dict[tuple[str, str], int] = {}
_limits: dict[tuple[str, str], dict[str, set[str]]] = {}  # (app, mode) -> AWS limit -> the tests that met it


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    rep = yield
    callspec = getattr(item, "callspec", None)
    spec = getattr(getattr(item, "module", None), "SPEC", None)
    if callspec is None or spec is None or "site" not in callspec.params:
        return rep
    key = (spec.name, callspec.params["site"])
    bucket = _outcomes.setdefault(key, {"passed": [], "failed": [], "skipped": []})
    if rep.when == "call":
        for limit in take_limits():
            _limits.setdefault(key, {}).setdefault(limit, set()).add(item.name.split("[", 1)[0])
    name = item.originalname if hasattr(item, "originalname") else item.name
    if rep.failed:
        if name not in bucket["failed"]:
            bucket["failed"].append(name if rep.when == "call" else f"{name} ({rep.when})")
    elif rep.skipped and rep.when in ("setup", "call"):
        bucket["skipped"].append(name)
    elif rep.passed and rep.when == "call":
        bucket["passed"].append(name)
    return rep


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _outcomes:
        return
    data: dict[str, Any] = {"apps": {}}
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(RESULTS.read_text())
    apps = data.setdefault("apps", {})
    for (app, mode), b in sorted(_outcomes.items()):
        if not (b["passed"] or b["failed"]):
            continue  # skipped entirely (not run here): keep what an earlier run recorded
        apps.setdefault(app, {})[mode] = {
            "result": "fail" if b["failed"] else "pass",
            "passed": len(b["passed"]),
            "failed": sorted(set(b["failed"])),
            "skipped": len(b["skipped"]),
            "cold_start_ms": _cold.get((app, mode)),
            "aws_limits": {k: sorted(v) for k, v in sorted(_limits.get((app, mode), {}).items())},
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
