"""The one place the path to the real AWS events (../shared/fixtures/events) is built: tests/conftest.py re-exports
it, tests/unit/unit_helpers.py and bench/events.py import it. Plain pathlib, so bench need not load pytest."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "events"
# A copy of the repository elsewhere (a checkout under /tmp) still finds this machine's captures.
if not FIXTURES.is_dir() and Path("/work/shared/fixtures/events").is_dir():
    FIXTURES = Path("/work/shared/fixtures/events")
