"""MediaWiki and Redmine behind `reweb local` at its default concurrency, first hit by eight parallel clients (as a
browser's parallel first requests do): eight instances start at once, and each start script clears and refills
/tmp/mediawiki or /tmp/redmine. With one /tmp for every instance they cleared it under each other (`rm: cannot
remove ... Directory not empty`, Runtime.AppExited, 500s and 504s); each instance now has a /tmp of its own, so
every request is served and no init fails. Both apps keep their data in SQLite under /tmp: no database on this
machine's network is needed, so the instances run with networks of their own (--network isolated)."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import test_app_mediawiki
import test_app_redmine
from appkit import (
    LOG_DIR,
    AppSpec,
    Client,
    Running,
    as_user,
    free_port,
    port_open,
    reweb_command,
    reweb_local_available,
    user_pids,
    wait_until,
)

from reweb.local import netns, sandbox

pytestmark = [pytest.mark.apps, pytest.mark.timeout(600)]
CLIENTS = 8


def _local(spec: AppSpec, port: int) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    env.update({"REWEB_APPLICATION_PORT": str(spec.port), "REWEB_WAIT_PATH": spec.wait_path,
                "REWEB_WAIT_CODE": spec.wait_codes, **spec.reweb_env})
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    base = f"http://127.0.0.1:{port}"
    # The default concurrency (10) and networks of their own; a Function URL has no integration timeout of its own,
    # so eight Redmines booting at once on a small machine are not cut at API Gateway's 30 s.
    argv = [*reweb_command(), "local", "--port", str(port), "--source", "function-url", "--timeout", "300",
            "--", *as_user(spec.command(base), env=spec.env)]
    return argv, env


@pytest.mark.parametrize("spec", [test_app_mediawiki.SPEC, test_app_redmine.SPEC], ids=lambda s: s.name)
def test_eight_parallel_first_clients_are_all_served(spec: AppSpec) -> None:
    if not reweb_local_available():
        pytest.skip("`reweb local` is not available")
    for why in (netns.available(), sandbox.mounts_unavailable()):
        if why:
            pytest.skip(f"instances cannot be isolated here: {why}")
    assert not user_pids(), "processes of the app user are running already"
    port = free_port()
    argv, env = _local(spec, port)
    log = LOG_DIR / f"{spec.name}-burst.log"
    proc = Running(argv, log, env=env, cwd=spec.cwd)
    try:
        assert wait_until(lambda: port_open(port) or not proc.alive(), 60), proc.tail()

        def first_visit(i: int) -> list[int]:
            c = Client(f"http://127.0.0.1:{port}", timeout=300)
            return [c.get(spec.wait_path).status, c.get(spec.wait_path + ("&" if "?" in spec.wait_path else "?")
                                                         + f"client={i}").status]

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(first_visit, range(CLIENTS)))
        assert all(spec.ok(s) for pair in statuses for s in pair), (statuses, proc.tail(20000))
        text = Path(log).read_text(errors="replace")
        reports = [line for line in text.splitlines() if line.startswith("REPORT RequestId")]
        assert len(reports) == 2 * CLIENTS, proc.tail(20000)
        # Each first request started its own instance and was served by it: eight cold starts, none failed.
        assert sum("Init Duration" in line for line in reports) == CLIENTS, reports
        assert not [line for line in reports if "Status: error" in line or "Status: timeout" in line], reports
        assert "INIT_REPORT" not in text and "init failed" not in text and "Directory not empty" not in text
        assert not re.search(r"Runtime\.\w+Error|AppExited", text), proc.tail(20000)
    finally:
        proc.stop()
        wait_until(lambda: not user_pids(), 20)
    assert not user_pids(), "processes of the app user outlived reweb local"
