"""Lambda's platform log lines (START / END / REPORT / INIT_REPORT) and the emulator's own notes."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True, slots=True)
class Report:
    """What one REPORT line says, for whoever watches them (the dashboard and the summary)."""

    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_used_mb: int
    init_ms: float | None = None  # only on the first invocation of an instance: a cold start
    status: str | None = None  # "timeout", "error" (the sandbox failed); None when it did not
    error_type: str | None = None
    instance: int | None = None  # the instance's number, when the caller says
    restore_ms: float | None = None  # SnapStart: restored from a snapshot instead of an init


@dataclass(frozen=True, slots=True)
class InitReport:
    """An INIT_REPORT line: an init that failed or timed out (a good one shows in its first REPORT)."""

    init_ms: float
    status: str
    error_type: str | None = None


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    """Billed in 1 ms steps, rounded up; a cold start of a container-image function also bills its init."""
    return math.ceil(duration_ms + (init_ms or 0.0))


class Logger:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.gone = False  # the terminal was closed (or the pipe's reader left): nothing more is written
        # Called with each REPORT / INIT_REPORT once its line is written.
        self.on_report: list[Callable[[Report], None]] = []
        self.on_init_report: list[Callable[[InitReport], None]] = []

    def line(self, text: str) -> None:
        if self.gone:
            return
        try:
            self.out.write(text + "\n")
            self.out.flush()
        except OSError:  # EIO from a closed terminal, EPIPE: the shutdown that follows a SIGHUP must go on
            self.gone = True
            with contextlib.suppress(OSError, ValueError):
                # What is still buffered drains into /dev/null, so the flush at exit does not fail again.
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, self.out.fileno())
                os.close(null)

    def note(self, text: str) -> None:
        self.line(f"reweb local: {text}")

    def start(self, request_id: str) -> None:
        self.line(f"START RequestId: {request_id} Version: $LATEST")

    def end(self, request_id: str) -> None:
        self.line(f"END RequestId: {request_id}")

    def report(self, request_id: str, *, duration_ms: float, memory_mb: int, max_used_mb: int,
               init_ms: float | None = None, status: str | None = None, error_type: str | None = None,
               instance: int | None = None, restore_ms: float | None = None) -> None:
        self.line(report_line(request_id, duration_ms=duration_ms, memory_mb=memory_mb, max_used_mb=max_used_mb,
                              init_ms=init_ms, status=status, error_type=error_type, restore_ms=restore_ms))
        rep = Report(request_id, duration_ms, billed_ms(duration_ms, init_ms), memory_mb, max_used_mb, init_ms,
                     status, error_type, instance, restore_ms)
        for watcher in self.on_report:
            watcher(rep)

    def timed_out(self, request_id: str, seconds: float) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        self.line(f"{stamp}Z {request_id} Task timed out after {seconds:.2f} seconds")

    def init_report(self, init_ms: float, status: str, error_type: str | None = None) -> None:
        text = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: {status}"
        if error_type:
            text += f"\tError Type: {error_type}"
        self.line(text)
        rep = InitReport(init_ms, status, error_type)
        for watcher in self.on_init_report:
            watcher(rep)


def report_line(request_id: str, *, duration_ms: float, memory_mb: int, max_used_mb: int,
                init_ms: float | None = None, status: str | None = None, error_type: str | None = None,
                restore_ms: float | None = None) -> str:
    billed = billed_ms(duration_ms, init_ms)
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_used_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if restore_ms is not None:
        # Lambda bills a restore's runtime hooks; here the restore is exactly that (a thaw costs nothing).
        parts.append(f"Restore Duration: {restore_ms:.2f} ms\tBilled Restore Duration: {math.ceil(restore_ms)} ms")
    if status:
        parts.append(f"Status: {status}")
    if error_type:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts)
