"""reweb's helper threads, started so that they never take SIGTERM or SIGINT.

Python runs a signal handler on the main thread only, while the kernel gives a process-directed signal to any
thread that does not block it, and passes over the main thread when a signal is already pending there (as one
is right after the SIGCONT that thaws a frozen sandbox). A SIGTERM taken by a thread blocked in recv sets
Python's flag and nothing more: the handler waits for the main thread's next bytecode, which may not come
before Lambda's SIGKILL, and the app never hears of its shutdown. Measured (a process with one thread blocked
in recv, SIGSTOP, SIGCONT, SIGTERM): 52 of 200 SIGTERMs never handled; none with the signals blocked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
else:  # the C module: `signal` builds three enums at import
    import _signal

SHUTDOWN_SIGNALS = {_signal.SIGTERM, _signal.SIGINT}


def start_daemon(target: Callable[..., object], *args: object, name: str) -> threading.Thread:
    """Start a daemon thread with the shutdown signals blocked (a new thread inherits its creator's mask, so
    they are blocked from its first instruction), leaving them to the main thread."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    before = _signal.pthread_sigmask(_signal.SIG_BLOCK, SHUTDOWN_SIGNALS)
    try:
        thread.start()
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, before)
    return thread
