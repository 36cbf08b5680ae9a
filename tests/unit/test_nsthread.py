"""reweb.local.nsthread: what netns.py and sandbox.py share (a namespace made in a thread of its own, a probe)."""

from __future__ import annotations

import threading

import pytest

from reweb.local.nsthread import Probe, in_own_thread


class Missing(Exception):
    pass


def test_runs_in_another_thread_and_returns_its_value() -> None:
    assert in_own_thread("t", threading.get_native_id, Missing) != threading.get_native_id()


def test_any_failure_comes_back_as_unavailable_with_its_text() -> None:
    def fails() -> None:
        raise OSError("unshare(CLONE_NEWNET): Operation not permitted")

    with pytest.raises(Missing, match=r"^unshare\(CLONE_NEWNET\): Operation not permitted$"):
        in_own_thread("t", fails, Missing)
    original = Missing("as it was")

    def refuses() -> None:
        raise original

    with pytest.raises(Missing) as caught:
        in_own_thread("t", refuses, Missing)
    assert caught.value is original


def test_probe_checks_once_and_says_why() -> None:
    calls: list[int] = []

    def check() -> None:
        calls.append(1)
        raise Missing("no cgroup here")

    probe = Probe(check, Missing)
    assert (probe(), probe(), len(calls)) == ("no cgroup here", "no cgroup here", 1)
    assert Probe(lambda: None, Missing)() == ""

