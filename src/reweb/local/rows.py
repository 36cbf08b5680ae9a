"""What `reweb local` has seen, as the dashboard shows it: a Row per request through the front door (and its
invocation), the Stats over all of them, and the instances as the pool's events tell them (InstanceWatch).

Everything comes from events: the front door says what each request was and what it was answered; the REPORT lines
(report.Logger.on_report) say what Lambda would measure and bill; the pool says when an instance starts and each
move of its state machine. The figures themselves (prices, costs, percentiles) are figures.py's.
"""

from __future__ import annotations

import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .figures import Summary, costs, percentile, round2
from .instances import Instance, Pool
from .options import Options
from .report import InitReport, Logger, Report

ROWS_KEPT = 1000  # invocations kept for the table and the chart (the totals count them all)
DEAD_KEPT = 20  # dead instances still shown




@dataclass(slots=True)
class Row:
    """One request through the front door and, when it reached Lambda, its invocation."""

    seq: int
    request_id: str
    started: float  # epoch seconds, at the front door
    method: str
    path: str
    version: int = 0
    status: int | None = None  # what the client got; None while in flight, or when the client left
    answered: bool = False
    latency_ms: float | None = None  # at the front door: what the client waited
    duration_ms: float | None = None  # the REPORT's fields from here on
    billed_ms: int | None = None
    max_used_mb: int | None = None
    init_ms: float | None = None
    reported: bool = False
    lambda_status: str | None = None
    error: str | None = None  # the Lambda error (error type), or what failed at the front door
    invoked: bool = True  # False: refused before any invocation (too large, init failed)
    instance: int | None = None
    counted_error: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "id": self.request_id, "started": round(self.started * 1000), "method": self.method,
            "path": self.path, "status": self.status, "answered": self.answered,
            "latency_ms": round2(self.latency_ms), "duration_ms": round2(self.duration_ms),
            "billed_ms": self.billed_ms, "max_used_mb": self.max_used_mb, "init_ms": round2(self.init_ms),
            "reported": self.reported, "cold": (self.init_ms is not None) if self.reported else None,
            "lambda_status": self.lambda_status, "error": self.error, "invoked": self.invoked,
            "instance": self.instance,
        }


class Stats:
    """Every request and invocation seen: the last ROWS_KEPT in full, the totals over all of them."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.version = 0
        self._seq = 0
        self.rows: OrderedDict[str, Row] = OrderedDict()
        self.requests = 0
        self.invocations = 0
        self.cold_starts = 0
        self.errors = 0
        self.billed_total_ms = 0
        self.max_memory_mb: int | None = None
        self.durations = array("d")
        self._sorted: list[float] = []
        self._sorted_len = 0
        self.init_ms: list[float] = []
        self.failed_inits: list[InitReport] = []
        self.instances = 0
        self.throttles = 0

    def watch(self, log: Logger) -> None:
        log.on_report.append(self.reported)
        log.on_init_report.append(self.init_reported)

    def _touch(self, row: Row) -> None:
        self.version += 1
        row.version = self.version

    # ---- from the front door ----------------------------------------------------------------------------

    def request_started(self, request_id: str, method: str, path: str) -> Row:
        self.requests += 1
        self._seq += 1
        row = Row(self._seq, request_id, time.time(), method, path[:500])
        self.rows[request_id] = row
        while len(self.rows) > ROWS_KEPT:
            self.rows.popitem(last=False)
        self._touch(row)
        return row

    def request_answered(self, request_id: str, status: int | None, latency_ms: float) -> None:
        row = self.rows.get(request_id)
        if row is not None:
            row.status, row.answered, row.latency_ms = status, True, latency_ms
            self._touch(row)

    def failed(self, request_id: str, error: str, invoked: bool = True) -> None:
        """The invocation failed (a Lambda error type), or the request never became one (invoked=False)."""
        row = self.rows.get(request_id)
        if row is None:
            return
        row.error = row.error or error
        row.invoked = row.invoked and invoked
        if invoked and not row.counted_error:
            row.counted_error = True
            self.errors += 1
        self._touch(row)

    def throttled(self, request_id: str) -> None:
        self.throttles += 1
        self.failed(request_id, "throttled", invoked=False)

    def instance_started(self) -> None:
        self.instances += 1
        self.version += 1

    def attribute(self, request_id: str, instance: int) -> bool:
        """Record which instance ran it; True the first time."""
        row = self.rows.get(request_id)
        if row is None or row.instance is not None:
            return False
        row.instance = instance
        self._touch(row)
        return True

    # ---- from the REPORT lines --------------------------------------------------------------------------

    def reported(self, rep: Report) -> None:
        self.invocations += 1
        self.durations.append(rep.duration_ms)
        self.billed_total_ms += rep.billed_ms
        self.max_memory_mb = max(self.max_memory_mb or 0, rep.max_used_mb)
        if rep.init_ms is not None:
            self.cold_starts += 1
            self.init_ms.append(rep.init_ms)
        row = self.rows.get(rep.request_id)
        if row is None:
            return
        row.reported = True
        row.duration_ms, row.billed_ms, row.max_used_mb, row.init_ms = (rep.duration_ms, rep.billed_ms,
                                                                         rep.max_used_mb, rep.init_ms)
        row.lambda_status = rep.status
        if rep.instance is not None:
            row.instance = rep.instance
        if rep.status or rep.error_type:
            # The front door may have said it first (it has the outcome); a timeout is Sandbox.Timedout to Lambda.
            row.error = row.error or rep.error_type or ("Sandbox.Timedout" if rep.status == "timeout" else rep.status)
            if not row.counted_error:
                row.counted_error = True
                self.errors += 1
        self._touch(row)

    def init_reported(self, rep: InitReport) -> None:
        self.failed_inits.append(rep)
        self.version += 1

    # ---- the totals -------------------------------------------------------------------------------------

    def summary(self) -> Summary:
        if self._sorted_len != len(self.durations):  # sorted again only when something new came
            self._sorted = sorted(self.durations)
            self._sorted_len = len(self._sorted)
        ordered = self._sorted
        gb_seconds, request_cost, compute_cost = costs(self.invocations, self.billed_total_ms, self.opts.memory)
        return Summary(
            memory_mb=self.opts.memory, requests=self.requests, invocations=self.invocations,
            cold_starts=self.cold_starts, errors=self.errors,
            p50_ms=percentile(ordered, 50), p95_ms=percentile(ordered, 95), p99_ms=percentile(ordered, 99),
            max_ms=ordered[-1] if ordered else None, max_memory_mb=self.max_memory_mb, init_ms=list(self.init_ms),
            failed_inits=list(self.failed_inits), billed_ms=self.billed_total_ms, gb_seconds=gb_seconds,
            request_cost=request_cost, compute_cost=compute_cost,
            instances=self.instances, throttles=self.throttles,
        )

    def changed_rows(self, since: int) -> list[dict[str, Any]]:
        return [row.view() for row in self.rows.values() if row.version > since]


@dataclass(slots=True)
class Seen:
    """An instance the dashboard was told of, kept after it died so it can be shown dead (and why)."""

    inst: Instance
    gone_at: float | None = None  # monotonic
    invocations: int = 0


@dataclass(slots=True)
class InstanceWatch:
    """The instances, as the pool's events tell them: started, moved, died. Nothing is sampled."""

    pool: Pool
    seen: dict[int, Seen] = field(default_factory=dict)
    version: int = 0  # bumped by every event, so the page knows something changed

    def __post_init__(self) -> None:
        self.pool.on_start.append(self.started)
        self.pool.watchers.append(self.moved)

    def started(self, inst: Instance) -> None:
        self.seen[inst.number] = Seen(inst)
        self.version += 1

    def moved(self, inst: Instance, was: str, event: str) -> None:
        entry = self.seen.get(inst.number)
        if entry is None or entry.inst is not inst:
            entry = self.seen[inst.number] = Seen(inst)
        if event == "assign":
            entry.invocations += 1
        elif event == "release":  # handed to a request that gave up before its invocation
            entry.invocations -= 1
        if event == "die":
            entry.gone_at = time.monotonic()
            dead = sorted((n for n, e in self.seen.items() if e.gone_at is not None), reverse=True)
            for number in dead[DEAD_KEPT:]:
                del self.seen[number]
        self.version += 1

    def live(self) -> list[Seen]:
        return [e for e in self.seen.values() if e.inst.state != "dead"]


ANSWERED = "answered: its runtime has not asked for more (/next)"


def instance_view(entry: Seen, opts: Options) -> dict[str, Any]:
    """State as the issue names them: initializing, warm (invoking, answered, or idle unfrozen), frozen, dead."""
    inst = entry.inst
    now = time.monotonic()
    pid = inst.proc.pid if inst.proc is not None else None
    if inst.state == "dead":
        state = "dead"
        detail = dead_reason(inst, opts)
        up_s = (entry.gone_at or now) - inst.spawned_at
    else:
        up_s = now - inst.spawned_at
        if inst.state in ("init", "restoring"):
            state, detail = "initializing", f"{up_s:.1f} s into init"
        elif inst.state == "snapshot":
            state, detail = "frozen", "SnapStart snapshot, restored by the next cold start"
        elif inst.state == "busy":
            state, detail = "warm", "invoking"
        elif inst.state == "answered":
            state, detail = "warm", ANSWERED
        elif inst.state == "frozen":
            state, detail = "frozen", f"idle {now - inst.idle_since:.1f} s, SIGSTOPped until the next invocation"
        else:
            state, detail = "warm", f"idle {now - inst.idle_since:.1f} s" + ("" if opts.freeze else " (--no-freeze)")
    return {
        "number": inst.number, "state": state, "detail": detail, "pid": pid, "up_s": round(up_s, 1),
        "init_ms": round2(inst.init_ms), "invocations": entry.invocations,
    }


def dead_reason(inst: Instance, opts: Options) -> str:
    """Why it died, as its last move recorded it."""
    return inst.death.reason if inst.death is not None else "shut down"
