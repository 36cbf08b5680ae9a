"""Small shared helpers: ports, /proc readings, statistics, child processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
HOST = "127.0.0.1"
CACHE_DIR = BENCH_DIR / ".cache"


CACHE_KEEP = 4  # copies of reweb per kind (src-COMMIT, exe-DIGEST) kept in CACHE_DIR: each run adds one


def keep_recent(used: Path, keep: int = CACHE_KEEP) -> None:
    """Mark `used` (a CACHE_DIR entry named KIND-ID) as just used, and remove all but the `keep` most recently
    used entries of its kind, so the cache does not grow by a copy of reweb per commit measured."""
    os.utime(used)
    kind = used.name.split("-", 1)[0]
    entries = sorted(used.parent.glob(f"{kind}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        if old != used:
            shutil.rmtree(old, ignore_errors=True)


def bytecode_env(cached: bool = True) -> dict[str, str]:
    """Environment for Python children: with `cached`, bytecode is written and reused (under bench/.cache/,
    so the source tree stays clean), as in a built container image; this sandbox sets
    PYTHONDONTWRITEBYTECODE=1, which makes every start compile every module from source."""
    if not cached:
        return {"PYTHONDONTWRITEBYTECODE": "1"}
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(CACHE_DIR / "pycache")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float) -> bool:
    """True once something accepts connections on 127.0.0.1:port (polls every 2 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return True
        time.sleep(0.002)
    return False


# -- /proc ------------------------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime+stime of the process (all its threads, dead ones included; its children excluded)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_ns(pid: int) -> int:
    """Sum of the on-CPU time of the process's live threads from schedstat (nanoseconds, precise)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total


def status_kb(pid: int, key: str) -> int:
    """A kB figure from /proc/<pid>/status, e.g. VmRSS or VmHWM."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0, needs write access to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def children(pid: int) -> list[int]:
    """All descendants of pid (any depth), read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# -- statistics -------------------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# -- processes --------------------------------------------------------------------------------------------

class Child:
    """A process this benchmark started; stop() ends it and every descendant it left, each by pid."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str] | None = None, quiet: bool = True,
                 stderr_path: Path | None = None) -> None:
        full_env = dict(os.environ)
        full_env.update(bytecode_env())
        full_env.update(env or {})
        out = subprocess.DEVNULL if quiet else None
        err = stderr_path.open("wb") if stderr_path else out
        self.started = time.monotonic()
        self.proc = subprocess.Popen(list(argv), env=full_env, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err, cwd=REPO_DIR)
        if stderr_path and err is not None and not isinstance(err, int):
            err.close()
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 3.0) -> None:
        descendants = children(self.pid) if self.alive() else []
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(2.0)
        for pid in descendants:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
