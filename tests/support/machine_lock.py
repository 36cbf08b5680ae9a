"""One test run at a time in the parts of the suite that use what a machine has only once.

The app suite's databases listen on fixed ports (PostgreSQL 54329, MariaDB 33069) with data under fixed /tmp paths,
the apps on their own fixed ports, the images' containers on the host's network, and the kit folder
/opt/reweb-apps is rewritten by tests/apps/install.sh. Two runs of the suite on one machine (two checkouts, or a run
beside a CI run) would take each other's servers away. So those folders (GUARDED) run under one machine-wide lock:
a run takes it before its first test there and gives it back after its last, so the rest of the two runs (unit,
integration, reweb local: free ports, per-process names) goes on side by side. scripts/test takes the same lock
around tests/apps/install.sh (`flock`).
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path

#: The lock file, outside any checkout (two checkouts must meet on it) and writable by root, who runs the suite.
LOCK_PATH = Path(os.environ.get("REWEB_MACHINE_LOCK", "/tmp/reweb-tests-machine.lock"))
#: What under tests/ uses the machine's one-of-a-kind resources: folders (a file's path would do too).
GUARDED = frozenset({"apps", "deploy", "images", "release"})
#: How long a run waits for another run's guarded part, at most (the longest, apps + images, takes ~25 min cold).
WAIT_S = 90 * 60


def guarded_folder(path: Path, tests_root: Path) -> str | None:
    """The guarded part of tests/ (a GUARDED entry) that holds `path`, or None."""
    try:
        rel = path.resolve().relative_to(tests_root.resolve()).as_posix()
    except ValueError:
        return None
    return next((g for g in sorted(GUARDED) if rel == g or rel.startswith(g + "/")), None)


class MachineLock:
    """flock(2) on LOCK_PATH: taken at most once per process, waited for with a bounded wait and a notice."""

    def __init__(self, path: Path = LOCK_PATH, wait_s: float = WAIT_S) -> None:
        self.path, self.wait_s = path, wait_s
        self.fd: int | None = None

    @property
    def held(self) -> bool:
        return self.fd is not None

    def take(self, why: str) -> None:
        if self.fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        deadline, told = time.monotonic() + self.wait_s, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise TimeoutError(f"{self.path}: another test run held it for {self.wait_s:.0f} s") from None
                if not told:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "?"
                    print(f"\n[machine lock] {why}: waiting for another test run on this machine ({holder}) to leave "
                          f"{', '.join(sorted(GUARDED))} under tests/ ({self.path})", file=sys.stderr, flush=True)
                    told = True
                time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} in {os.getcwd()}, {why}".encode(), 0)
        self.fd = fd

    def give_back(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
