"""Cold start: reweb's own init, how fast it notices the app's port, and the import time of its modules."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import Child, free_port, percentile, wait_port
from driver import RuntimeDriver
from harness import LAMBDA_ENV, adapter_argv, app_command
from report import Report, Table, fmt


def _marks(path: Path) -> dict[str, float]:
    marks: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, value = line.split()
            marks.setdefault(name, float(value))
    return marks


def _start(adapter: str, port: int, command: str) -> tuple[float, float]:
    """Start the adapter once; (monotonic start, monotonic first /next), 0.0 if it never called."""
    driver = RuntimeDriver()
    env = dict(LAMBDA_ENV, AWS_LAMBDA_RUNTIME_API=driver.address, REWEB_APPLICATION_EXEC=command,
               REWEB_APPLICATION_PORT=str(port))
    child = Child(adapter_argv(adapter), env)
    try:
        driver.wait_first_next(10.0)
        return child.started, driver.first_next_at
    finally:
        child.stop()
        driver.close()


def cold_start(adapter: str, quick: bool, report: Report) -> None:
    trials = 5 if quick else 15
    table = Table("Cold start (ms)", ["measure", "trials", "min", "p50", "max"])

    # 1. reweb's own init: the app's port is already open (a pre-started app; the child is `sleep`).
    port = free_port()
    with Child([sys.executable, str(Path(__file__).with_name("app.py")), "--port", str(port)]):
        wait_port(port, 10.0)
        own = [b - a for a, b in (_start(adapter, port, "exec sleep 60") for _ in range(trials)) if b]
    table.add("process start -> first /next, app port already open", len(own),
              *(fmt(v * 1e3, 1) for v in (min(own, default=float("nan")), percentile(own, 50),
                                          max(own, default=float("nan")))))

    # 2. with the real Python app, ready as soon as its interpreter is up; 3. an app that opens its port late.
    rows: dict[str, list[float]] = {"process start -> first /next, Python app ready at once": [],
                                    "  of which: app's port opening -> first /next": [],
                                    "app opens its port late: port opening -> first /next": [],
                                    "app opens its port late: port opening -> first probe": []}
    keys = list(rows)
    with tempfile.TemporaryDirectory() as tmp:
        for trial in range(trials * 2):
            late = trial % 2 == 1
            marks_file = Path(tmp) / f"marks{trial}"
            port = free_port()
            extra = ["--ready-file", str(marks_file)]
            if late:
                extra += ["--listen-delay-ms", str(150 + 7 * trial)]  # sweep the poll phase
            start, first_next = _start(adapter, port, app_command(port, *extra))
            marks = _marks(marks_file)
            if not first_next or "listen" not in marks:
                continue
            if late:
                rows[keys[2]].append(first_next - marks["listen"])
                if "first_request" in marks:
                    rows[keys[3]].append(marks["first_request"] - marks["listen"])
            else:
                rows[keys[0]].append(first_next - start)
                rows[keys[1]].append(first_next - marks["listen"])
    for label, values in rows.items():
        table.add(label, len(values), *(fmt(v * 1e3, 1) for v in (min(values, default=float("nan")),
                                                                   percentile(values, 50),
                                                                   max(values, default=float("nan")))))
    table.notes.append("times are CLOCK_MONOTONIC readings of the benchmark (process start), the driver (first /next)"
                       " and the app (port opening, first request), so they compare across processes")
    report.show(table)
    init_p50 = percentile(own, 50) * 1e3
    notice = rows[keys[2]]
    report.target("reweb's own init (start -> first /next)", "<= 60 ms", f"p50 {init_p50:.1f} ms",
                  bool(own) and init_p50 <= 60)
    report.target("readiness noticed after the port opens", "<= 15 ms",
                  f"max {max(notice) * 1e3:.1f} ms" if notice else "-", bool(notice) and max(notice) <= 0.015)
    import_time(report)


def import_time(report: Report, module: str = "reweb.cli", runs: int = 5) -> None:
    """python -X importtime of the adapter's entry module: best of `runs`, top modules by self time."""
    best: tuple[int, list[tuple[int, int, str]]] | None = None
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                             text=True, timeout=30)
        rows = []
        for line in out.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative, name = (p.strip() for p in line[len("import time:"):].split("|"))
            rows.append((int(self_us), int(cumulative), name))
        total = sum(r[0] for r in rows)
        if rows and (best is None or total < best[0]):
            best = (total, rows)
    wall = _wall([sys.executable, "-c", f"import {module}"]) - _wall([sys.executable, "-c", "pass"])
    table = Table(f"Import time of {module} (python -X importtime, best of {runs})",
                  ["module", "self us", "cumulative us"])
    if best is None:
        table.notes.append("importtime printed nothing")
        report.show(table)
        return
    total, rows = best
    for self_us, cumulative, name in sorted(rows, reverse=True)[:12]:
        table.add(name.strip(), self_us, cumulative)
    table.notes.append(f"sum of self times: {total / 1e3:.1f} ms over {len(rows)} modules; wall time of "
                       f"`python -c 'import {module}'` minus `python -c pass`: {wall * 1e3:.1f} ms (best of 10)")
    report.show(table)


def _wall(argv: list[str], runs: int = 10) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=False, timeout=30)
        best = min(best, time.perf_counter() - start)
    return best
