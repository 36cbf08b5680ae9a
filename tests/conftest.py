import sys
from collections.abc import Generator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.paths import FIXTURES  # noqa: E402 - re-exported: tests import it from here

__all__ = ["FIXTURES", "ROOT"]

# Hypothesis' default 200 ms deadline per example measures the machine, not the code: on a loaded machine it
# fails examples that are merely slow (DeadlineExceeded, Flaky). Every property test runs without one; a test's
# own @settings still sets its examples.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the wheel stage's venv has it; a bare interpreter collecting nothing needs no profile
    pass
else:
    settings.register_profile("reweb", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("reweb")


# One run at a time in the folders that use the machine's one-of-a-kind servers and paths (tests/support/
# machine_lock.py). Outside pytest-timeout's wrapper (tryfirst): waiting for another run is not a test's time.
from tests.support.machine_lock import MachineLock, guarded_folder  # noqa: E402

_MACHINE_LOCK = MachineLock()
_TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    folder = guarded_folder(item.path, _TESTS)
    if folder is not None:
        _MACHINE_LOCK.take(f"tests/{folder}")
    try:
        return (yield)
    finally:
        if _MACHINE_LOCK.held and (nextitem is None or guarded_folder(nextitem.path, _TESTS) is None):
            _MACHINE_LOCK.give_back()
