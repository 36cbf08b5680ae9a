"""Fixtures for reweb local's tests; the harness itself lives in tests/support/localharness.py."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import pytest

from tests.support import localharness
from tests.support.localharness import Local, alive, start_local


@pytest.fixture(autouse=True)
def _integration_marker_is_true(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that starts reweb local without the integration marker fails: `-m "not integration"` stays fast."""
    localharness.may_start = request.node.get_closest_marker("integration") is not None
    yield
    localharness.may_start = True


@pytest.fixture
def run_local() -> Iterator[Callable[..., Local]]:
    started: list[Local] = []

    def run(args: list[str], app: list[str] | None = None, env: dict[str, str] | None = None,
            runtime: str | None = None, terminal: bool = False) -> Local:
        local = start_local(args, app=app, env=env, runtime=runtime, terminal=terminal)
        started.append(local)
        return local

    yield run
    for local in started:
        if local.proc.poll() is None:
            local.stop()
        leftovers = [pid for pid in local.seen if alive(pid)]
        for pid in leftovers:  # never leave anything behind, even when the assertion below fails
            os.kill(pid, signal.SIGKILL)
        assert not leftovers, f"processes left behind: {leftovers}"
