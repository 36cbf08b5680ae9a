"""Streaming: time to first byte and throughput of a 50 MB response (REWEB_INVOKE_MODE=response_stream)."""

from __future__ import annotations

from client import DirectClient
from common import percentile
from events import Case
from harness import Adapter, check
from report import Report, Table, fmt

MB = 1024 * 1024
STREAM_ENV = {"REWEB_INVOKE_MODE": "response_stream"}


def streaming(adapter: str, quick: bool, report: Report) -> None:
    size = 50 * MB
    runs = 3 if quick else 8
    big = Case(kind="function-url", response_size=size, body_type="bin", stream=True)
    delay_ms = 500
    slow = Case(kind="function-url", response_size=MB, body_type="text", stream=True, first_delay_ms=delay_ms)
    table = Table("Streaming a 50 MB response (Function URL event, 64 KB chunks from the app)",
                  ["path", "runs", "TTFB p50 ms", "total p50 ms", "MB/s (median)", "adapter CPU ms/run", "check"])
    with Adapter(adapter, env=STREAM_ENV) as run:
        run.invoke([big.event()])  # warm-up
        batch, cpu = run.invoke([big.event()] * runs, timeout=30.0 * runs)
        problems = check(big, batch)
        pairs = enumerate(zip(batch.sent, batch.done, strict=True))
        rates = [batch.sizes[i] / MB / (done - sent) for i, (sent, done) in pairs if done]
        ttfb, total = batch.ttfb(), batch.latencies()
        table.add("through reweb", len(total), fmt(percentile(ttfb, 50) * 1e3, 2),
                  fmt(percentile(total, 50) * 1e3, 1), fmt(percentile(rates, 50), 0),
                  fmt(cpu / max(len(total), 1) * 1e3, 1), "; ".join(problems)[:120] or "ok")
        with DirectClient(run.app_port) as client:
            client.request(big.direct_request())
            timings = [client.request(big.direct_request()) for _ in range(runs)]
        table.add("straight to the app", runs, fmt(percentile([t.first_byte for t in timings], 50) * 1e3, 2),
                  fmt(percentile([t.latency for t in timings], 50) * 1e3, 1),
                  fmt(percentile([t.size / MB / t.latency for t in timings], 50), 0), "-", "ok")
        slow_batch, _ = run.invoke([slow.event()] * 3, timeout=30.0)
        slow_ttfb = percentile(slow_batch.ttfb(), 50) * 1e3
        slow_total = percentile(slow_batch.latencies(), 50) * 1e3
    table.notes.append(f"first-byte check: the app sends 64 KB, sleeps {delay_ms} ms, then 1 MB more: "
                       f"first byte after {slow_ttfb:.1f} ms, last after {slow_total:.1f} ms")
    report.show(table)
    rate = percentile(rates, 50) if rates else float("nan")
    report.target("streaming: first byte before the app finishes", f"TTFB < {delay_ms} ms app pause",
                  f"{slow_ttfb:.1f} ms", bool(slow_ttfb < delay_ms))
    report.target("streaming throughput", ">= 100 MB/s", f"{rate:.0f} MB/s", bool(rate >= 100 and not problems))
