"""Memory: reweb's RSS at idle and its peak while answering 4 MB responses."""

from __future__ import annotations

import threading
import time

from common import reset_peak_rss, status_kb
from events import Case
from harness import Adapter
from report import Report, Table, fmt

MB = 1024 * 1024


class PeakSampler:
    """Fallback when VmHWM cannot be reset: sample VmRSS every millisecond."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = status_kb(pid, "VmRSS")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, status_kb(self.pid, "VmRSS"))
            time.sleep(0.001)

    def finish(self) -> int:
        self.stop.set()
        self.thread.join(2.0)
        return self.peak


def memory(adapter: str, quick: bool, report: Report) -> None:
    table = Table("Memory of the adapter process (RSS, MB)",
                  ["state", "RSS MB", "over idle MB", "over idle / body size", "check"])
    count = 5 if quick else 20
    with Adapter(adapter) as run:
        run.invoke([Case().event()] * 50)
        time.sleep(0.2)
        idle = status_kb(run.pid, "VmRSS") / 1024
        table.add("idle (after 50 small invocations, blocked in /next)", fmt(idle, 1), "-", "-", "ok")
        peaks: dict[str, float] = {}
        for label, case in (("4 MB text response", Case(response_size=4 * MB)),
                            ("4 MB binary response (base64)", Case(response_size=4 * MB, body_type="bin")),
                            ("4 MB binary request (base64)", Case(request_size=4 * MB, response_size=0,
                                                                  body_type="bin"))):
            payload = case.event()
            hwm = reset_peak_rss(run.pid)
            sampler = None if hwm else PeakSampler(run.pid)
            batch, _ = run.invoke([payload] * count)
            peak = (status_kb(run.pid, "VmHWM") if sampler is None else sampler.finish()) / 1024
            peaks[label] = peak
            ok = "ok" if not batch.errors and all(batch.done) else f"{len(batch.errors)} errors"
            table.add(f"peak during {count} x {label}", fmt(peak, 1), fmt(peak - idle, 1),
                      fmt((peak - idle) / 4, 2), ok)
        after = status_kb(run.pid, "VmRSS") / 1024
        table.add("idle again afterwards", fmt(after, 1), fmt(after - idle, 1), "-", "ok")
    table.notes.append("peak from VmHWM reset through /proc/<pid>/clear_refs before each case (else 1 ms sampling)")
    report.show(table)
    text_peak = peaks["4 MB text response"]
    report.target("idle RSS", "<= 25 MB", f"{idle:.1f} MB", idle <= 25)
    report.target("peak RSS over idle, 4 MB text response", "<= 3x body (12 MB)",
                  f"{text_peak - idle:.1f} MB ({(text_peak - idle) / 4:.1f}x)", text_peak - idle <= 12)
