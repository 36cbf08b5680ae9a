"""Fixtures of the real-application suite: databases, one cold-started app per (module, mode), the results file.

Skips the whole folder only when the apps are not installed (tests/apps/install.sh) AND REWEB_REQUIRE_APPS is unset;
with REWEB_REQUIRE_APPS=1 (CI) anything missing is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appkit import (
    DB_USER,
    KIT,
    MARIADB_PORT,
    MODES,
    PG_PORT,
    REWEB_MODES,
    Site,
    as_user,
    fresh_dir,
    reweb_local_available,
    run_site,
    take_limits,
    user_ids,
)

# A test run writes here (build/ is not tracked: running the tests leaves `git status` clean); the committed
# tests/apps/results/results.json changes only by `python tools/compat_table.py --record`.
RESULTS = Path(os.environ.get("REWEB_APPS_RESULTS",
                              Path(__file__).resolve().parents[2] / "build" / "apps-results.json"))
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")


def apps_installed() -> bool:
    try:
        user_ids("reweb-app")
    except KeyError:
        return False
    return (KIT / ".installed").exists()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "apps: real third-party applications end to end (tests/apps/install.sh)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    if REQUIRE or apps_installed():
        return
    skip = pytest.mark.skip(reason="apps not installed (run tests/apps/install.sh, or set REWEB_REQUIRE_APPS=1)")
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


# ---------------------------------------------------------------------------------------------------------- databases
@pytest.fixture(scope="session")
def postgres() -> Iterator[int]:
    """PostgreSQL 15 on 127.0.0.1:54329, data in /tmp/reweb-pg, as `nobody` (it refuses to run as root)."""
    if not apps_installed():
        pytest.fail("apps not installed: run tests/apps/install.sh")
    pgbin = next(Path("/usr/lib/postgresql").glob("*/bin"))
    d = fresh_dir("/tmp/reweb-pg", DB_USER)
    _as_db([str(pgbin / "initdb"), "-D", f"{d}/data", "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
            "--locale=C.UTF-8"])
    opts = f"-k {d} -p {PG_PORT} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    _as_db([str(pgbin / "pg_ctl"), "-D", f"{d}/data", "-l", f"{d}/log", "-w", "-o", opts, "start"])
    try:
        yield PG_PORT
    finally:
        _as_db([str(pgbin / "pg_ctl"), "-D", f"{d}/data", "-m", "fast", "-w", "stop"], check=False)


@pytest.fixture(scope="session")
def mariadb() -> Iterator[int]:
    """MariaDB on 127.0.0.1:33069, data in /tmp/reweb-mysql, as `nobody`."""
    if not apps_installed():
        pytest.fail("apps not installed: run tests/apps/install.sh")
    d = fresh_dir("/tmp/reweb-mysql", DB_USER)
    _as_db(["mariadb-install-db", "--no-defaults", f"--datadir={d}/data", "--auth-root-authentication-method=normal",
            "--skip-test-db"])
    argv = ["mariadbd", "--no-defaults", f"--datadir={d}/data", f"--socket={d}/mysql.sock", f"--port={MARIADB_PORT}",
            "--bind-address=127.0.0.1", f"--pid-file={d}/mariadb.pid", f"--tmpdir={d}", f"--log-error={d}/error.log",
            "--skip-log-bin", "--innodb-buffer-pool-size=64M"]
    with open(d / "stdout.log", "wb") as log:
        proc = subprocess.Popen(as_user(argv, DB_USER), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subprocess.run(["mariadb-admin", "--no-defaults", "-h127.0.0.1", f"-P{MARIADB_PORT}", "-uroot", "ping"],
                              capture_output=True, timeout=10).returncode == 0:
                break
            if proc.poll() is not None:
                raise RuntimeError((d / "error.log").read_text())
            time.sleep(0.1)
        else:
            raise RuntimeError("mariadb did not start")
        yield MARIADB_PORT
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _as_db(argv: list[str], check: bool = True) -> None:
    p = subprocess.run(as_user(argv, DB_USER), capture_output=True, text=True, timeout=120, cwd="/tmp")
    if check and p.returncode:
        raise RuntimeError(f"{argv[0]} failed: {p.stdout} {p.stderr}")


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
        _cold[(spec.name, mode)] = round(s.cold_start_ms)
        yield s


# ------------------------------------------------------------------------------------------------------------ results
_outcomes: dict[tuple[str, str], dict[str, list[str]]] = {}
_cold: dict[tuple[str, str], int] = {}
_limits: dict[tuple[str, str], set[str]] = {}


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
        _limits.setdefault(key, set()).update(take_limits())
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
            "aws_limits": sorted(_limits.get((app, mode), ())),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
