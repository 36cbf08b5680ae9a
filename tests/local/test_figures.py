"""The dashboard's figures (local/figures.py): Lambda's prices, what traffic costs at them, and how they are written."""

from __future__ import annotations

import pytest

from reweb.local.figures import (
    GB_SECOND_TEXT,
    PRICE_PER_GB_SECOND,
    PRICE_PER_REQUEST,
    PRICES_AS_OF,
    PRICES_NOTE,
    Summary,
    costs,
    gb_seconds,
    money,
    percentile,
    prices_view,
    round2,
    summary_lines,
)
from reweb.local.report import InitReport


def a_summary(**fields: object) -> Summary:
    base: dict[str, object] = dict(
        memory_mb=1024, requests=0, invocations=0, cold_starts=0, errors=0, p50_ms=None, p95_ms=None, p99_ms=None,
        max_ms=None, max_memory_mb=None, init_ms=[], failed_inits=[], billed_ms=0, gb_seconds=0.0,
        request_cost=0.0, compute_cost=0.0)
    base.update(fields)
    return Summary(**base)  # type: ignore[arg-type]


def test_the_prices_are_lambdas_x86_us_east_1_and_say_so() -> None:
    assert PRICE_PER_REQUEST == 0.20 / 1_000_000 and PRICE_PER_GB_SECOND == 0.0000166667
    assert f"${PRICE_PER_GB_SECOND:.10f}" == GB_SECOND_TEXT  # the text is the figure, not another one
    assert PRICES_AS_OF in PRICES_NOTE and GB_SECOND_TEXT in PRICES_NOTE
    view = prices_view()
    assert (view["per_request"], view["per_gb_second"], view["per_gb_second_text"], view["note"]) == (
        PRICE_PER_REQUEST, PRICE_PER_GB_SECOND, GB_SECOND_TEXT, PRICES_NOTE)
    assert view["per_million_requests"] * 1e-6 == pytest.approx(PRICE_PER_REQUEST)
    assert (view["arch"], view["region"]) == ("x86_64", "us-east-1")


def test_costs_are_billed_milliseconds_times_memory_at_the_prices() -> None:
    # One million invocations of 100 ms at 1 GB: 100,000 GB-s, $1.67 of compute and $0.20 of requests.
    gb_s, requests, compute = costs(1_000_000, 100_000_000, 1024)
    assert gb_s == 100_000.0
    assert requests == pytest.approx(0.20) and compute == pytest.approx(1.66667)
    # At 128 MB an eighth of that compute; requests are priced by count alone.
    assert costs(1_000_000, 100_000_000, 128) == (12_500.0, requests, 12_500.0 * PRICE_PER_GB_SECOND)
    assert costs(0, 0, 1024) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0"), (0.0001, "0.0001000"), (0.128, "0.1280"), (1.5, "1.500"), (12.3456, "12.35"), (999.94, "999.9"),
    (1000.0, "1,000"), (123456.7, "123,457"),
])
def test_gb_seconds_have_four_significant_digits_and_no_exponent(value: float, text: str) -> None:
    assert gb_seconds(value) == text


def test_money_has_three_significant_digits_below_a_cent() -> None:
    assert [money(v) for v in (0.0, 0.0000021, 0.00123, 0.01, 1234.5)] == [
        "$0", "$0.00000210", "$0.00123", "$0.01", "$1,234.50"]


def test_percentile_of_one_value_and_of_none() -> None:
    assert percentile([], 50) is None
    assert [percentile([7.0], p) for p in (0, 50, 100)] == [7.0, 7.0, 7.0]
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0 and percentile([1.0, 2.0, 3.0, 4.0], 51) == 3.0


def test_round2() -> None:
    assert (round2(None), round2(1.23456), round2(2.0)) == (None, 1.23, 2.0)


def test_the_summarys_totals_and_its_view() -> None:
    gb_s, requests, compute = costs(4, 400, 1024)
    s = a_summary(requests=5, invocations=4, cold_starts=1, errors=1, p50_ms=90.0, p95_ms=110.0, p99_ms=110.0,
                  max_ms=110.0, max_memory_mb=80, init_ms=[250.0], billed_ms=400, gb_seconds=gb_s,
                  request_cost=requests, compute_cost=compute, instances=1, throttles=1)
    assert s.total_cost == requests + compute
    assert s.cost_per_million == pytest.approx((requests + compute) / 4 * 1e6)
    view = s.view()
    assert view["text"] == {"total_cost": money(s.total_cost), "request_cost": money(requests),
                            "compute_cost": money(compute), "gb_seconds": "0.4000",
                            "cost_per_million": money(s.cost_per_million or 0.0)}
    assert view["lines"] == summary_lines(s) and view["init_count"] == 1 and view["throttles"] == 1
    assert view["lines"][0] == "summary: 4 invocations, 1 cold start, 1 error, at 1024 MB"
    assert "  1 instance started, 1 request throttled (refused by Lambda: no invocation, not billed)" in view["lines"]


def test_a_summary_without_invocations_has_no_cost_per_million_and_names_failed_inits() -> None:
    s = a_summary(requests=1, throttles=1, failed_inits=[InitReport(12.5, "error", "Runtime.ExitError")])
    assert s.cost_per_million is None and s.view()["text"]["cost_per_million"] is None
    assert summary_lines(s) == [
        "summary: no invocation (1 request at the front door)",
        "  1 throttled (no instance free, --concurrency reached)",
        "  1 init(s) failed: 12.50 ms (error, Runtime.ExitError)",
    ]
