"""Cold start: reweb's own init, how fast it notices the app's port, and the import time of its modules."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from common import BENCH_DIR, Child, bytecode_env, free_port, percentile, wait_port
from driver import RuntimeDriver
from harness import LAMBDA_ENV, adapter_argv, app_command
from report import Report, Table, fmt

# A runtime that does nothing but call /next: the interpreter's own start, the floor for any Python runtime.
NULL_RUNTIME = ("import os, socket\n"
                "host, port = os.environ['AWS_LAMBDA_RUNTIME_API'].split(':')\n"
                "s = socket.create_connection((host, int(port)))\n"
                "s.sendall(b'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
                "s.recv(1)\n")


def _marks(path: Path) -> dict[str, float]:
    marks: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, value = line.split()
            marks.setdefault(name, float(value))
    return marks


def _start(argv: Sequence[str], port: int, command: str, extra_env: dict[str, str] | None = None,
           stderr_path: Path | None = None, ready_port: int = 0) -> tuple[float, float]:
    """Start a runtime once: (process start, first /next), monotonic; first /next is 0.0 if it never came.
    ready_port: probe this (already open) port for readiness; the app's own port stays free, as reweb wants it
    before it starts the app."""
    driver = RuntimeDriver()
    env = dict(LAMBDA_ENV, AWS_LAMBDA_RUNTIME_API=driver.address, REWEB_APPLICATION_EXEC=command,
               REWEB_APPLICATION_PORT=str(port), **(extra_env or {}))
    if ready_port:
        env["REWEB_READINESS_CHECK_PORT"] = str(ready_port)
    child = Child(argv, env, stderr_path=stderr_path)
    try:
        driver.wait_first_next(10.0)
        return child.started, driver.first_next_at
    finally:
        child.stop()
        driver.close()


def _row(table: Table, label: str, values: list[float]) -> None:
    nan = float("nan")
    table.add(label, len(values), *(fmt(v * 1e3, 1) for v in (min(values, default=nan), percentile(values, 50),
                                                               max(values, default=nan))))


def _trials(count: int, once: Callable[[], tuple[float, float]]) -> list[float]:
    """Seconds from start to first /next over `count` starts, after one warm-up start (fills the caches)."""
    once()
    return [end - start for start, end in (once() for _ in range(count)) if end]


def cold_start(adapter: str, quick: bool, report: Report) -> None:
    trials = 5 if quick else 15
    table = Table("Cold start (ms)", ["measure", "trials", "min", "p50", "max"])
    argv = adapter_argv(adapter)

    # reweb's own init: the readiness check's port is already open (a pre-started app; reweb's child is only
    # `sleep`, its own port stays free).
    port, app_port = free_port(), free_port()
    with Child([sys.executable, str(BENCH_DIR / "app.py"), "--port", str(port)]):
        wait_port(port, 10.0)
        null = _trials(trials, lambda: _start([sys.executable, "-c", NULL_RUNTIME], port, ""))
        own = _trials(trials, lambda: _start(argv, app_port, "exec sleep 60", ready_port=port))
        no_pyc = _trials(trials, lambda: _start(argv, app_port, "exec sleep 60", bytecode_env(cached=False),
                                                ready_port=port))
        with tempfile.TemporaryDirectory() as tmp:
            importtime = Path(tmp) / "importtime.txt"
            _start(argv, app_port, "exec sleep 60", {"PYTHONPROFILEIMPORTTIME": "1"}, importtime, ready_port=port)
            imports = importtime.read_text() if importtime.exists() else ""
    _row(table, "null Python runtime (start -> first /next): the interpreter's floor", null)
    _row(table, "reweb: start -> first /next, app port already open", own)
    own_init = percentile(own, 50) - percentile(null, 50)
    table.add("reweb's own init = reweb p50 - null runtime p50", "-", "-", fmt(own_init * 1e3, 1), "-")
    _row(table, "reweb, PYTHONDONTWRITEBYTECODE=1 (compiles its source at every start)", no_pyc)

    # The real Python app, ready as soon as its interpreter is up; then an app that opens its port late.
    rows: dict[str, list[float]] = {"reweb + Python app ready at once: start -> first /next": [],
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
                extra += ["--listen-delay-ms", str(150 + 7 * trial)]  # sweep the phase of the readiness poll
            start, first_next = _start(argv, port, app_command(port, *extra))
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
        _row(table, label, values)
    table.notes.append("bytecode cached under bench/.cache/pycache (as in a built image) except where noted")
    table.notes.append("this sandbox's site-packages has a .pth file that imports certifi at every interpreter "
                       "start (~45 ms): it is in the null runtime's time too, and the difference removes it")
    table.notes.append("times are CLOCK_MONOTONIC readings from the benchmark, the driver and the app, "
                       "comparable across processes")
    report.show(table)
    notice = rows[keys[2]]
    report.target("reweb's own init (start -> first /next, minus the interpreter's)", "<= 60 ms",
                  f"{own_init * 1e3:.1f} ms (raw p50 {percentile(own, 50) * 1e3:.0f} ms)",
                  bool(own and null) and own_init <= 0.060)
    report.target("readiness noticed after the port opens", "<= 15 ms",
                  f"max {max(notice) * 1e3:.1f} ms" if notice else "-", bool(notice) and max(notice) <= 0.015)
    import_table(imports, report)


def import_table(text: str, report: Report) -> None:
    """The reweb subtrees of a real start's -X importtime output: total and the costliest modules."""
    rows: list[tuple[int, int, str]] = []
    segment: list[tuple[int, int, str]] = []
    roots: list[tuple[int, int, str]] = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:"):].split("|")
        row = (int(self_us), int(cumulative), name.rstrip())
        segment.append(row)
        if not name.startswith("  "):  # depth 0: closes a subtree (children are printed before parents)
            if name.strip().startswith("reweb"):
                rows += segment
                roots.append(row)
            segment = []
    total = sum(r[1] for r in roots)
    table = Table("Imports of a real reweb start (PYTHONPROFILEIMPORTTIME, bytecode cached)",
                  ["module (indent = depth)", "self us", "cumulative us"])
    for self_us, cumulative, name in sorted(rows, key=lambda r: -r[1])[:15]:
        table.add(name[1:], self_us, cumulative)
    table.notes.append(f"reweb's imports: {total / 1e3:.1f} ms in all, {len(rows)} modules "
                       f"(roots: {', '.join(r[2].strip() for r in roots)})")
    report.show(table)
