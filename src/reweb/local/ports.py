"""Free loopback ports for apps, emulator instances and tests.

bind(("127.0.0.1", 0)) and close() only says a port is free *now*: the kernel can hand the same port out again
at the next call, before whoever took it first has bound it (about one call in ten thousand here, enough to
make a long test run flaky). So this process never hands out a port it handed out recently.
"""

from __future__ import annotations

import socket
import threading
from collections import deque

_RECENT = 2048  # far fewer than the ~28 000 ephemeral ports, far more than one run starts at once
_given: deque[int] = deque(maxlen=_RECENT)
_lock = threading.Lock()


def free_port() -> int:
    """A loopback port nothing listens on, not among the last ports this process handed out."""
    with _lock:
        for _ in range(1000):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _given:
                _given.append(port)  # the oldest falls out past _RECENT
                return port
    raise OSError("no loopback port left that was not handed out recently")
