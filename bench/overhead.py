"""Overhead per invocation: body sizes (text and binary, request and response), event kinds, the Nagle trap."""

from __future__ import annotations

from dataclasses import dataclass

from events import KINDS, Case
from harness import Adapter, Stats, measure_direct
from report import Report, Table, fmt

KB, MB = 1024, 1024 * 1024
SIZES = (0, KB, 100 * KB, MB, 4 * MB)


@dataclass(frozen=True)
class Budget:
    quick: bool

    def count(self, size: int) -> int:
        """Invocations for a case moving `size` bytes: about 400 MB in all (80 MB quick), 30..2000 (10..300)."""
        if self.quick:
            return max(10, min(300, (80 * MB) // max(size, 1)))
        return max(30, min(2000, (400 * MB) // max(size, 1)))


def size_label(size: int) -> str:
    if size >= MB:
        return f"{size // MB} MB"
    if size >= KB:
        return f"{size // KB} KB"
    return f"{size} B"


def _row(table: Table, label: str, through: Stats, floor: Stats) -> None:
    errors = "; ".join(through.errors + floor.errors)[:160]
    table.add(label, through.n, fmt(floor.p50_ms, 3), fmt(through.p50_ms, 3), fmt(through.p50_ms - floor.p50_ms, 3),
              fmt(floor.p99_ms, 3), fmt(through.p99_ms, 3), fmt(through.cpu_us, 0), errors or "ok")


def _table(title: str) -> Table:
    return Table(title, ["case", "n", "floor p50 ms", "reweb p50 ms", "added p50 ms", "floor p99 ms",
                         "reweb p99 ms", "adapter CPU us/inv", "check"])


def sizes(adapter: str, budget: Budget, report: Report) -> dict[str, Stats]:
    cases: list[tuple[str, Case]] = []
    for direction in ("response", "request"):
        for size in SIZES:
            for body_type in ("text", "bin"):
                if size == 0 and body_type == "bin":
                    continue
                label = f"{direction} {size_label(size)} {body_type if size else ''}".strip()
                if direction == "response":
                    cases.append((label, Case(response_size=size, body_type=body_type)))
                elif size:
                    cases.append((label, Case(request_size=size, response_size=0, body_type=body_type)))
    table = _table("Overhead per invocation by body size (HTTP API v2 event, buffered)")
    results: dict[str, Stats] = {}
    with Adapter(adapter) as run:
        for label, case in cases:
            n = budget.count(max(case.request_size, case.response_size))
            through = run.measure(case, n, warmup=min(20, n))
            floor = measure_direct(run.app_port, case, n, warmup=min(20, n))
            _row(table, label, through, floor)
            results[label] = through
            results[label + " floor"] = floor
    table.notes.append("floor = the same HTTP request sent straight to the app over a keep-alive connection")
    table.notes.append("request rows: POST with that body, empty response; response rows: GET")
    report.show(table)
    return results


def kinds(adapter: str, budget: Budget, report: Report) -> None:
    table = _table("Overhead per invocation by event kind (1 KB text response)")
    n = budget.count(KB)
    with Adapter(adapter) as run:
        floor = measure_direct(run.app_port, Case(), n, warmup=20)
        for kind in KINDS:
            case = Case(kind=kind)
            _row(table, kind, run.measure(case, n), floor)
    table.notes.append("sqs is a non-HTTP event: reweb POSTs it to the pass-through path; the app answers 1 KB")
    report.show(table)


def nagle(adapter: str, budget: Budget, report: Report) -> None:
    """reweb in front of an http.server app (headers and body sent apart) versus the fast app."""
    table = Table("The Nagle trap (1 KB text response)",
                  ["setup", "n", "p50 ms", "p99 ms", "adapter CPU us/inv", "check"])
    n = budget.count(KB) // 4
    case = Case()
    with Adapter(adapter) as run:
        normal = run.measure(case, n)
    with Adapter(adapter, app_args=("--nagle",)) as run:
        trapped = run.measure(case, n)
        naive = measure_direct(run.app_port, case, 10 if budget.quick else 25, warmup=2)
    for label, stats in (("reweb -> fast app (one send)", normal),
                         ("reweb -> http.server app (two sends)", trapped),
                         ("plain keep-alive client -> http.server app", naive)):
        table.add(label, stats.n, fmt(stats.p50_ms, 3), fmt(stats.p99_ms, 3), fmt(stats.cpu_us, 0),
                  "; ".join(stats.errors)[:120] or "ok")
    table.notes.append("the plain client row shows the trap itself: the app's body waits for the delayed ACK")
    report.show(table)
    diff = trapped.p50_ms - normal.p50_ms
    report.target("Nagle trap p50 vs normal", "<= 1 ms apart", f"{diff:+.3f} ms "
                  f"(trap demo: {naive.p50_ms:.1f} ms)", abs(diff) <= 1.0 and not trapped.errors)
