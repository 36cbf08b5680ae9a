import sys
from pathlib import Path

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
