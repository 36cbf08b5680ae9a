"""start_daemon: the new thread blocks SIGTERM and SIGINT from its first instruction; the caller's mask is as
it was (src/reweb/threads.py says why the main thread must be the one that takes them)."""

from __future__ import annotations

import signal
import threading

from reweb.threads import start_daemon


def test_a_daemon_thread_blocks_the_shutdown_signals_and_the_caller_does_not() -> None:
    seen: list[set[int]] = []
    done = threading.Event()

    def record() -> None:
        seen.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, set())))
        done.set()

    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    thread = start_daemon(record, name="reweb-test")
    assert done.wait(10) and thread.daemon and thread.name == "reweb-test"
    assert {signal.SIGTERM, signal.SIGINT} <= seen[0]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before
    assert signal.SIGTERM not in before


def test_the_thread_gets_its_arguments() -> None:
    got: list[tuple[int, str]] = []
    start_daemon(lambda a, b: got.append((a, b)), 7, "x", name="reweb-test").join(10)
    assert got == [(7, "x")]
