"""What reweb local's Linux sandboxes (netns.py, sandbox.py) share: a namespace set up in a thread of its own, and
the question, asked once, whether that works on this machine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_own_thread(name: str, make: Callable[[], T], unavailable: type[Exception]) -> T:
    """make() in a new thread, joined: an unshare(2) there moves that thread only, never the caller's. An exception
    comes back as `unavailable` (as it is when it already is one)."""
    result: list[T | Exception] = []

    def inside() -> None:
        try:
            result.append(make())
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=inside, name=name)
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, Exception):
        raise outcome if isinstance(outcome, unavailable) else unavailable(str(outcome))
    return outcome


class Probe:
    """Calling it: "" when `check()` works here, else why not (its `unavailable` exception's text); checked once."""

    def __init__(self, check: Callable[[], None], unavailable: type[Exception]) -> None:
        self._check = check
        self._unavailable = unavailable
        self._why: str | None = None

    def __call__(self) -> str:
        if self._why is None:
            try:
                self._check()
                self._why = ""
            except self._unavailable as exc:
                self._why = str(exc)
        return self._why
