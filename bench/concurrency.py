"""Concurrency: AWS_LAMBDA_MAX_CONCURRENCY=8 against an app that sleeps, and against the fast app."""

from __future__ import annotations

from common import percentile
from driver import Batch
from events import Case
from harness import Adapter, check
from report import Report, Table, fmt


def _throughput(batch: Batch) -> float:
    done = [d for d in batch.done if d]
    if not done:
        return 0.0
    return len(done) / (max(done) - min(s for s in batch.sent if s))


def concurrency(adapter: str, quick: bool, report: Report) -> None:
    sleep_ms = 50
    table = Table("Concurrency (1 KB text response)",
                  ["app", "workers", "n", "req/s", "ideal req/s", "p50 ms", "p99 ms", "adapter CPU us/inv", "check"])
    results: dict[tuple[str, int], float] = {}
    for workers in (1, 8):
        for label, case, n_full, n_quick in (
            (f"sleeps {sleep_ms} ms", Case(sleep_ms=sleep_ms), 40 * workers, 15 * workers),
            ("fast", Case(), 3000, 600),
        ):
            n = n_quick if quick else n_full
            with Adapter(adapter, workers=workers) as run:
                polling = run.driver.waiting
                payload = case.event()
                run.invoke([payload] * (4 * workers))
                batch, cpu = run.invoke([payload] * n)
            rate = _throughput(batch)
            results[(label, workers)] = rate
            latencies = batch.latencies()
            ideal = fmt(workers * 1000 / sleep_ms, 0) if case.sleep_ms else "-"
            problems = check(case, batch)
            if polling < workers:
                problems.append(f"only {polling} workers were polling /next")
            table.add(label, workers, len(latencies), fmt(rate, 0), ideal, fmt(percentile(latencies, 50) * 1e3, 2),
                      fmt(percentile(latencies, 99) * 1e3, 2), fmt(cpu / max(len(latencies), 1) * 1e6, 0),
                      "; ".join(problems)[:120] or "ok")
    sleepy = f"sleeps {sleep_ms} ms"
    scale = results[(sleepy, 8)] / results[(sleepy, 1)] if results[(sleepy, 1)] else float("nan")
    table.notes.append(f"sleeping app: 8 workers give {scale:.1f}x the throughput of 1 (ideal 8x)")
    report.show(table)
    report.target("concurrency 8 scales on a sleeping app", ">= 7x of 1 worker", f"{scale:.1f}x", scale >= 7)
