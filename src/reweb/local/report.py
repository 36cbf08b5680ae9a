"""Lambda's platform log lines (START / END / REPORT / INIT_REPORT) and the emulator's own notes."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO


class Logger:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self.line(f"reweb local: {text}")

    def start(self, request_id: str) -> None:
        self.line(f"START RequestId: {request_id} Version: $LATEST")

    def end(self, request_id: str) -> None:
        self.line(f"END RequestId: {request_id}")

    def report(self, request_id: str, *, duration_ms: float, memory_mb: int, max_used_mb: int,
               init_ms: float | None = None, status: str | None = None, error_type: str | None = None) -> None:
        self.line(report_line(request_id, duration_ms=duration_ms, memory_mb=memory_mb, max_used_mb=max_used_mb,
                              init_ms=init_ms, status=status, error_type=error_type))

    def timed_out(self, request_id: str, seconds: float) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        self.line(f"{stamp}Z {request_id} Task timed out after {seconds:.2f} seconds")

    def init_report(self, init_ms: float, status: str, error_type: str | None = None) -> None:
        text = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: {status}"
        if error_type:
            text += f"\tError Type: {error_type}"
        self.line(text)


def report_line(request_id: str, *, duration_ms: float, memory_mb: int, max_used_mb: int,
                init_ms: float | None = None, status: str | None = None, error_type: str | None = None) -> str:
    # Billed in 1 ms steps, rounded up; a cold start of a container-image function also bills its init.
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_used_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        parts.append(f"Status: {status}")
    if error_type:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts)
