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
from appkit import (
    LOG_DIR,
    AppSpec,
    Client,
    Running,
    as_user,
    port_open,
    reweb_command,
    reweb_local_available,
    user_pids,
    wait_until,
)
from specs import MEDIAWIKI, REDMINE

from reweb.local import netns, sandbox
from reweb.local.ports import free_port

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


@pytest.mark.parametrize("spec", [MEDIAWIKI, REDMINE], ids=lambda s: s.name)
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

        clients = [Client(f"http://127.0.0.1:{port}", timeout=300) for _ in range(CLIENTS)]
        sep = "&" if "?" in spec.wait_path else "?"

        def reports() -> list[str]:
            return [line for line in Path(log).read_text(errors="replace").splitlines()
                    if line.startswith("REPORT RequestId")]

        with ThreadPoolExecutor(CLIENTS) as pool:
            first = list(pool.map(lambda c: c.get(spec.wait_path).status, clients))
        assert all(spec.ok(s) for s in first), (first, proc.tail(20000))
        assert wait_until(lambda: len(reports()) >= CLIENTS, 30), proc.tail(20000)
        # Each first request started its own instance and was served by it: eight cold starts.
        assert [("Init Duration" in line) for line in reports()] == [True] * CLIENTS, reports()
        with ThreadPoolExecutor(CLIENTS) as pool:  # and every client's next request is served too
            second = list(pool.map(lambda ic: ic[1].get(f"{spec.wait_path}{sep}client={ic[0]}").status,
                                   enumerate(clients)))
        assert all(spec.ok(s) for s in second), (second, proc.tail(20000))
        assert wait_until(lambda: len(reports()) >= 2 * CLIENTS, 30), proc.tail(20000)
        assert not [line for line in reports() if "Status: error" in line or "Status: timeout" in line], reports()
        text = Path(log).read_text(errors="replace")
        assert "INIT_REPORT" not in text and "init failed" not in text and "Directory not empty" not in text
        assert not re.search(r"Runtime\.\w+Error|AppExited", text), proc.tail(20000)
    finally:
        proc.stop()
        wait_until(lambda: not user_pids(), 20)
    assert not user_pids(), "processes of the app user outlived reweb local"
