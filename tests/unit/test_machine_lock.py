"""The machine-wide lock that keeps two test runs out of the app suite's fixed ports and paths at once."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from tests.support.machine_lock import GUARDED, MachineLock, guarded_folder


def test_only_the_folders_with_one_of_a_kind_resources_are_guarded(tmp_path: Path) -> None:
    root = tmp_path / "tests"
    assert guarded_folder(root / "apps" / "test_app_wordpress.py", root) == "apps"
    assert guarded_folder(root / "images" / "test_guides.py", root) == "images"
    assert guarded_folder(root / "integration" / "test_rie.py", root) is None
    assert guarded_folder(root / "unit" / "test_config.py", root) is None
    assert guarded_folder(tmp_path / "elsewhere" / "apps" / "x.py", root) is None
    assert guarded_folder(root / "local" / "test_newcomer.py", root) is None  # free ports, per-process names
    assert guarded_folder(root / "applications" / "x.py", root) is None  # a folder, not a prefix of a name
    assert {"apps", "deploy", "images", "release"} == GUARDED


def test_a_second_run_waits_for_the_first_and_then_gets_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "machine.lock"
    first, second = MachineLock(path), MachineLock(path, wait_s=30)
    first.take("tests/apps")
    assert "tests/apps" in path.read_text()  # who holds it, for the waiting run's notice
    got = threading.Event()

    def wait_then_take() -> None:
        second.take("tests/images")
        got.set()

    waiter = threading.Thread(target=wait_then_take)
    waiter.start()
    deadline = time.monotonic() + 10
    while "waiting for another test run" not in capsys.readouterr().err and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not got.is_set()  # flock: the first still holds it
    first.give_back()
    assert got.wait(10)
    waiter.join(10)
    assert second.held and not first.held
    second.give_back()


def test_the_wait_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "machine.lock"
    holder = MachineLock(path)
    holder.take("tests/apps")
    with pytest.raises(TimeoutError, match="another test run held it"):
        MachineLock(path, wait_s=0.3).take("tests/deploy")
    holder.give_back()
    again = MachineLock(path, wait_s=0.3)
    again.take("tests/deploy")  # free again: no wait
    assert again.held
    again.give_back()


#: Session fixtures in guarded folders that hold nothing of the machine's (a venv under the checkout's build/).
CHECKOUT_ONLY = {"release_venv"}


def test_no_session_fixture_in_a_guarded_folder_outlives_the_lock() -> None:
    """A run gives the lock back when it leaves a guarded folder, but a session fixture lives on to the session's
    end: a database started there would meet the next run's on its fixed port (it did: every test of the second
    run's apps erred). Such fixtures are per module."""
    tests = Path(__file__).resolve().parent.parent
    found = []
    for folder in GUARDED:
        for path in sorted((tests / folder).rglob("*.py")):
            found += [f"{path.relative_to(tests)}:{name}" for name in re.findall(
                r'@pytest\.fixture\([^)]*scope="session"[^)]*\)\s*\ndef (\w+)', path.read_text())
                if name not in CHECKOUT_ONLY]
    assert found == []
