"""Where the adapter's CPU goes, two ways that do not count waiting:
- cProfile timed by thread CPU time (bench/cprofile_reweb.py), per function, in microseconds per invocation;
- strace -c: the system calls each invocation makes.
Both slow reweb down (cProfile by about 1 us per call, strace far more): read them for shares and counts,
and take the absolute CPU from the overhead tables."""

from __future__ import annotations

import os
import pstats
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BENCH_DIR
from events import Case
from harness import Adapter
from report import Report, Table, fmt

MB = 1024 * 1024


def _wait_file(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.01)
    return False


def cprofile_case(label: str, case: Case, n: int, report: Report) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reweb.prof"
        command = f"{sys.executable} {BENCH_DIR / 'cprofile_reweb.py'} {out}"
        with Adapter(command) as run:
            payload = case.event()
            run.invoke([payload] * 30)
            os.kill(run.pid, signal.SIGUSR2)
            run.invoke([payload] * n)
            os.kill(run.pid, signal.SIGUSR1)
            ok = _wait_file(Path(str(out) + ".done"), 10.0)
        table = Table(f"cProfile (thread CPU time): {label}, {n} invocations",
                      ["function", "calls/inv", "self us/inv", "cumulative us/inv"])
        if not ok:
            table.notes.append("the profile was not written")
            report.show(table)
            return
        stats = pstats.Stats(str(out))
        entries = stats.stats  # type: ignore[attr-defined]
        total = sum(tt for _, _, tt, _, _ in entries.values())
        ordered = sorted(entries.items(), key=lambda item: -item[1][2])
        for (file, line, name), (_, ncalls, tt, ct, _) in ordered[:18]:
            where = f"{Path(file).name}:{line}" if line else "builtin"
            table.add(f"{name} ({where})", fmt(ncalls / n, 1), fmt(tt / n * 1e6, 1), fmt(ct / n * 1e6, 1))
        table.notes.append(f"profiled CPU in all: {total / n * 1e6:.0f} us/inv (cProfile inflates Python calls)")
        report.show(table)


def strace_case(label: str, case: Case, n: int, report: Report) -> None:
    strace = shutil.which("strace")
    table = Table(f"System calls per invocation (strace -c): {label}", ["syscall", "calls/inv"])
    if strace is None:
        table.notes.append("strace not installed")
        report.show(table)
        return
    with Adapter("reweb") as run, tempfile.TemporaryDirectory() as tmp:
        payload = case.event()
        run.invoke([payload] * 20)
        out = Path(tmp) / "strace.txt"
        tracer = subprocess.Popen([strace, "-c", "-f", "-o", str(out), "-p", str(run.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        run.invoke([payload] * n, timeout=60)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(10)
        text = out.read_text() if out.exists() else ""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and re.fullmatch(r"[\d.]+", parts[0]) and parts[-1] not in ("total",):
            rows.append((parts[-1], int(parts[3])))
    for name, calls in sorted(rows, key=lambda r: -r[1]):
        table.add(name, fmt(calls / n, 2))
    table.notes.append("counted while blocked in /next too: the one waiting recv per invocation is included")
    report.show(table)


def cpuprof(adapter: str, quick: bool, report: Report) -> None:
    n = 500 if quick else 2000
    cprofile_case("1 KB text response", Case(), n, report)
    cprofile_case("4 MB text response", Case(response_size=4 * MB), max(10, n // 50), report)
    strace_case("1 KB text response", Case(), 200, report)
    strace_case("4 MB text response", Case(response_size=4 * MB), 10, report)
