"""Which of a process's threads can take a signal, read from /proc (SigBlk of each task): reweb leaves SIGTERM
and SIGINT to its main thread, the only one where Python runs a handler (src/reweb/threads.py says why)."""

from __future__ import annotations

import signal
from pathlib import Path


def threads_taking(pid: int, signum: signal.Signals) -> list[int]:
    """The ids of pid's threads that do not block signum (the main thread's id is pid)."""
    taking = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("SigBlk:") and not int(line.split()[1], 16) >> (signum - 1) & 1:
                taking.append(int(task.name))
    return taking


def thread_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))
