"""The figures of `reweb local`'s dashboard and Ctrl-C summary: Lambda's prices, what traffic costs at them,
percentiles, and how each is written. Pure: no clock, no I/O, no aiohttp (rows.py feeds it, dashboard.py serves it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .report import InitReport

# AWS Lambda on-demand prices, x86_64, us-east-1 (first tier of compute), from AWS's public pricing page.
PRICE_PER_REQUEST = 0.20 / 1_000_000
PRICE_PER_GB_SECOND = 0.0000166667
GB_SECOND_TEXT = "$0.0000166667"
PRICES_AS_OF = "2026-11"
PRICES_NOTE = (
    f"AWS Lambda on-demand prices, x86_64, us-east-1: $0.20 per 1M requests and {GB_SECOND_TEXT} per "
    f"GB-second (public price list as of {PRICES_AS_OF}, from AWS's public pricing page, "
    "aws.amazon.com/lambda/pricing: check them there). Free tier not deducted; the front door "
    "(API Gateway, ALB, Lattice) is billed apart and not included."
)


def costs(invocations: int, billed_ms: int, memory_mb: int) -> tuple[float, float, float]:
    """GB-seconds, request cost and compute cost of `invocations` billed `billed_ms` in all at `memory_mb`."""
    gb_s = billed_ms / 1000 * memory_mb / 1024
    return gb_s, invocations * PRICE_PER_REQUEST, gb_s * PRICE_PER_GB_SECOND


def prices_view() -> dict[str, Any]:
    """The prices as the page shows them (with the note that says where they come from)."""
    return {
        "per_request": PRICE_PER_REQUEST, "per_million_requests": 0.20, "per_gb_second": PRICE_PER_GB_SECOND,
        "per_gb_second_text": GB_SECOND_TEXT,
        "as_of": PRICES_AS_OF, "arch": "x86_64", "region": "us-east-1", "note": PRICES_NOTE,
    }


def round2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True, slots=True)
class Summary:
    memory_mb: int
    requests: int  # at the front door, dashboard excluded
    invocations: int  # REPORT lines: what Lambda bills as requests
    cold_starts: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    max_memory_mb: int | None
    init_ms: list[float]
    failed_inits: list[InitReport]
    billed_ms: int
    gb_seconds: float
    request_cost: float
    compute_cost: float
    instances: int = 0  # instances started (each one's init is in the REPORT of its first invocation)
    throttles: int = 0  # requests Lambda would have refused: no invocation, nothing billed

    @property
    def total_cost(self) -> float:
        return self.request_cost + self.compute_cost

    @property
    def cost_per_million(self) -> float | None:
        return self.total_cost / self.invocations * 1_000_000 if self.invocations else None

    def view(self) -> dict[str, Any]:
        return {
            "memory_mb": self.memory_mb, "requests": self.requests, "invocations": self.invocations,
            "cold_starts": self.cold_starts, "errors": self.errors, "p50_ms": round2(self.p50_ms),
            "p95_ms": round2(self.p95_ms), "p99_ms": round2(self.p99_ms), "max_ms": round2(self.max_ms),
            "max_memory_mb": self.max_memory_mb, "init_ms": [round(v, 2) for v in self.init_ms[-50:]],
            "init_count": len(self.init_ms), "failed_inits": len(self.failed_inits), "billed_ms": self.billed_ms,
            "gb_seconds": self.gb_seconds, "request_cost": self.request_cost, "compute_cost": self.compute_cost,
            "total_cost": self.total_cost, "cost_per_million": self.cost_per_million,
            "instances": self.instances, "throttles": self.throttles,
            "text": {"total_cost": money(self.total_cost), "request_cost": money(self.request_cost),
                     "compute_cost": money(self.compute_cost), "gb_seconds": gb_seconds(self.gb_seconds),
                     "cost_per_million": money(self.cost_per_million) if self.cost_per_million is not None else None},
            "lines": summary_lines(self),
        }


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list: the smallest value with at least p% of them at or below."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def money(dollars: float) -> str:
    """Dollars, with cents when there are some and three significant digits when it is less than a cent."""
    if dollars == 0:
        return "$0"
    if dollars >= 0.01:
        return f"${dollars:,.2f}"
    decimals = -math.floor(math.log10(dollars)) + 2
    return f"${dollars:.{decimals}f}"


def gb_seconds(value: float) -> str:
    """GB-seconds with four significant digits below 1000, no exponent."""
    if value == 0:
        return "0"
    if value >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 3 - math.floor(math.log10(value)))
    return f"{value:.{decimals}f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def summary_lines(s: Summary) -> list[str]:
    """The summary, one line each (printed at Ctrl-C after "reweb local: ", shown on the dashboard)."""
    if not s.invocations:
        lines = [f"summary: no invocation ({s.requests} request{'s' if s.requests != 1 else ''} at the front door)"]
        if s.throttles:
            lines.append(f"  {s.throttles} throttled (no instance free, --concurrency reached)")
        if s.failed_inits:
            lines.append(f"  {len(s.failed_inits)} init(s) failed: " + ", ".join(
                f"{r.init_ms:.2f} ms ({r.status}{', ' + r.error_type if r.error_type else ''})"
                for r in s.failed_inits[:10]))
        return lines
    n = s.invocations
    lines = [
        f"summary: {n} invocation{'s' if n != 1 else ''}, {s.cold_starts} cold start{'s' if s.cold_starts != 1 else ''}"
        f", {s.errors} error{'s' if s.errors != 1 else ''}, at {s.memory_mb} MB",
        f"  duration p50 {_ms(s.p50_ms)}, p95 {_ms(s.p95_ms)}, p99 {_ms(s.p99_ms)}, max {_ms(s.max_ms)}",
        f"  max memory used {s.max_memory_mb} MB of {s.memory_mb} MB; billed duration {s.billed_ms} ms in all",
    ]
    if s.init_ms:
        shown = ", ".join(f"{v:.2f}" for v in s.init_ms[:10]) + (", ..." if len(s.init_ms) > 10 else "")
        lines.append(f"  init durations: {shown} ms (min {min(s.init_ms):.2f}, max {max(s.init_ms):.2f})")
    else:
        lines.append("  init durations: none (every invocation ran warm)")
    if s.instances or s.throttles:
        lines.append(f"  {s.instances} instance{'s' if s.instances != 1 else ''} started, {s.throttles} request"
                     f"{'s' if s.throttles != 1 else ''} throttled (refused by Lambda: no invocation, not billed)")
    if s.failed_inits:
        lines.append(f"  failed inits: {len(s.failed_inits)} (" + ", ".join(
            f"{r.status}{' ' + r.error_type if r.error_type else ''} after {r.init_ms:.2f} ms"
            for r in s.failed_inits[:5]) + ")")
    lines.append(f"  Lambda cost of this traffic: {money(s.total_cost)} = {n} request{'s' if n != 1 else ''} "
                 f"{money(s.request_cost)}"
                 f" + {gb_seconds(s.gb_seconds)} GB-s {money(s.compute_cost)}")
    per_million = s.cost_per_million or 0.0
    lines.append(f"  estimated cost per million requests like these: {money(per_million)}")
    lines.append(f"  prices: x86_64, us-east-1, $0.20 per 1M requests, {GB_SECOND_TEXT} per GB-second "
                 f"(AWS public price list as of {PRICES_AS_OF}: check aws.amazon.com/lambda/pricing); "
                 "free tier and the front door's own price not included")
    return lines
