"""Where the adapter's CPU goes: py-spy samples the running adapter while the driver feeds it invocations.

Prints, per function, the samples where it was on top of the stack (self) and anywhere on it (inclusive),
converted to microseconds per invocation (samples / rate / invocations)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from events import Case
from harness import Adapter
from report import Report, Table, fmt

RATE = 1000


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; keep the function and the file name.
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({Path(file).name})" if file else name


def profile_case(adapter: str, label: str, case: Case, seconds: float, report: Report) -> None:
    spy = shutil.which("py-spy")
    table = Table(f"Profile: {label} (py-spy, {RATE} Hz, non-blocking)", ["function", "self us/inv",
                                                                          "inclusive us/inv", "self %"])
    if spy is None:
        table.notes.append("py-spy not installed (pip install py-spy)")
        report.show(table)
        return
    with Adapter(adapter) as run, tempfile.TemporaryDirectory() as tmp:
        payload = case.event()
        run.invoke([payload] * 50)
        out = Path(tmp) / "stacks.txt"
        command = [spy, "record", "--pid", str(run.pid), "--rate", str(RATE), "--format", "raw", "--nonblocking",
                   "--nolineno", "--duration", str(int(seconds)), "--output", str(out)]
        spy_proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            invocations = 0
            deadline = time.monotonic() + seconds - 1.0
            batch_size = max(5, min(500, int(200_000 / max(case.response_size, 1024))))
            while time.monotonic() < deadline:
                run.invoke([payload] * batch_size)
                invocations += batch_size
            spy_proc.wait(seconds + 30)
        finally:
            if spy_proc.poll() is None:
                spy_proc.kill()
                spy_proc.wait(5)
        self_counts: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        total = 0
        for line in out.read_text().splitlines() if out.exists() else []:
            stack, _, count_text = line.rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            frames = [_frame_name(f) for f in stack.split(";")[1:]]  # first frame is the thread
            if not frames:
                continue
            total += count
            self_counts[frames[-1]] += count
            for name in set(frames):
                inclusive[name] += count
    per_inv = 1e6 / RATE / max(invocations, 1)
    for name, count in self_counts.most_common(15):
        table.add(name, fmt(count * per_inv, 1), fmt(inclusive[name] * per_inv, 1), fmt(100 * count / total, 1))
    table.notes.append(f"{invocations} invocations, {total} samples = {total * per_inv:.0f} us/inv of sampled CPU")
    top_inclusive = [f"{n}: {fmt(c * per_inv, 1)}" for n, c in inclusive.most_common(25)]
    table.notes.append("inclusive us/inv, top 25: " + "; ".join(top_inclusive))
    report.show(table)


def profile(adapter: str, quick: bool, report: Report) -> None:
    seconds = 6.0 if quick else 15.0
    profile_case(adapter, "1 KB text response", Case(), seconds, report)
    profile_case(adapter, "4 MB text response", Case(response_size=4 * 1024 * 1024), seconds, report)
