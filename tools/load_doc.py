"""Generate docs/load-test.md's measured parts from the recorded load test (never typed by hand).

    python3 tools/load_doc.py [--write | --check]

The source is bench/results/load_test.json (`python3 bench/load_test.py --rounds 2 --record`). Regions:

- `<!-- load:results:start -->` ... `<!-- load:results:end -->`: when, at which commit, on what, under which load;
  per app and concurrency the median of the rounds and their spread; then every run with its own time and load.
- `<!-- load:changed:start -->` ... `<!-- load:changed:end -->`: the same figures beside the earlier scaling
  model's (EARLIER: the one run per configuration that docs/load-test.md showed before, measured 2026-11-30).
- `<!-- load:breakeven:start -->` ... `<!-- load:breakeven:end -->`: always-on prices and the break-even rates.

--check exits 1 when a region is not what the recording says (tests/test_load_doc.py runs it) and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "load_test.json"
DOC = ROOT / "docs" / "load-test.md"
RESULTS_MARKS = ("<!-- load:results:start -->", "<!-- load:results:end -->")
CHANGED_MARKS = ("<!-- load:changed:start -->", "<!-- load:changed:end -->")
BREAKEVEN_MARKS = ("<!-- load:breakeven:start -->", "<!-- load:breakeven:end -->")
HOURS_PER_MONTH = 730

#: The earlier scaling model's figures (a request that found no idle instance started one but was served by whichever
#: instance freed first): one run each, 2026-11-30 12:17-12:23 UTC, as docs/load-test.md showed them until the
#: runs were measured again (git show a528b08:docs/load-test.md). Kept for the comparison only.
EARLIER: dict[tuple[str, int], dict[str, float]] = {
    ("wordpress", 1): {"rps": 9.1, "client_p50": 108, "client_p99": 147, "dur_p50": 92.1, "dur_p99": 130,
                       "cold": 1, "init_max": 688, "all": 1.82, "warm": 1.78},
    ("wordpress", 4): {"rps": 17.8, "client_p50": 222, "client_p99": 613, "dur_p50": 186, "dur_p99": 285,
                       "cold": 4, "init_max": 1347, "all": 3.42, "warm": 3.27},
    ("wordpress", 8): {"rps": 12.7, "client_p50": 592, "client_p99": 2905, "dur_p50": 473, "dur_p99": 640,
                       "cold": 8, "init_max": 3303, "all": 8.79, "warm": 7.77},
    ("datasette", 1): {"rps": 24.8, "client_p50": 39.3, "client_p99": 69.0, "dur_p50": 26.0, "dur_p99": 51.7,
                       "cold": 1, "init_max": 869, "all": 0.68, "warm": 0.66},
    ("datasette", 4): {"rps": 50.1, "client_p50": 77.1, "client_p99": 192, "dur_p50": 49.5, "dur_p99": 97.8,
                       "cold": 4, "init_max": 1661, "all": 1.12, "warm": 1.05},
    ("datasette", 8): {"rps": 40.6, "client_p50": 171, "client_p99": 1178, "dur_p50": 108, "dur_p99": 199,
                       "cold": 8, "init_max": 4817, "all": 2.52, "warm": 2.04},
    ("static", 1): {"rps": 68.7, "client_p50": 14.3, "client_p99": 25.4, "dur_p50": 1.9, "dur_p99": 8.2,
                    "cold": 1, "init_max": 210, "all": 0.25, "warm": 0.25},
    ("static", 4): {"rps": 69.9, "client_p50": 57.2, "client_p99": 87.4, "dur_p50": 29.0, "dur_p99": 52.1,
                    "cold": 4, "init_max": 424, "all": 0.71, "warm": 0.70},
    ("static", 8): {"rps": 68.4, "client_p50": 114, "client_p99": 227, "dur_p50": 63.2, "dur_p99": 109,
                    "cold": 8, "init_max": 663, "all": 1.33, "warm": 1.29},
}


def ms(v: float) -> str:
    return "-" if math.isnan(v) else (f"{v:.0f}" if v >= 100 else f"{v:.1f}")


def money(v: float) -> str:
    return "-" if math.isnan(v) else f"${v:.2f}"


def spread(values: list[float], fmt: Any) -> str:
    """median (min-max), or the one value."""
    if len(values) == 1:
        return str(fmt(values[0]))
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def errors(r: dict[str, Any]) -> int:
    return int(r["client"]["errors"] + r["client"]["non_2xx_3xx"]) + int(r["lambda_errors"])


def groups(result: dict[str, Any]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The runs of each (app, concurrency), in the order first measured."""
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in result["results"]:
        out.setdefault((r["app"], r["concurrency"]), []).append(r)
    return out


FIELDS: dict[str, Any] = {  # the figure of a run, by the name EARLIER uses
    "rps": lambda r: r["rps"], "client_p50": lambda r: r["client"]["p50_ms"],
    "client_p99": lambda r: r["client"]["p99_ms"], "dur_p50": lambda r: r["duration_p50_ms"],
    "dur_p99": lambda r: r["duration_p99_ms"], "cold": lambda r: r["cold_starts"],
    "init_max": lambda r: max(r["init_ms"], default=float("nan")), "all": lambda r: r["cost_per_million"],
    "warm": lambda r: r["warm_cost_per_million"],
}


def setting(result: dict[str, Any]) -> str:
    m = result["machine"]
    runs = result["results"]
    loads = [r["loadavg_before"] for r in runs] + [r["loadavg_after"][0] for r in runs]
    busy = [r["cpu_busy_pct"] for r in runs]
    other = [r["cpu_busy_pct"] - r["own_cpu_pct"] for r in runs]
    rounds = max(r["round"] for r in runs)
    modified = result.get("src_modified") or []
    commits = list(dict.fromkeys(r["commit"] for r in runs if r.get("commit")))
    return (
        f"Measured {result['began']} to {result['ended'][11:]} by `{result['command']}` at reweb "
        + (" then ".join(f"`{c}`" for c in commits) if commits
           else f"`{result['commit']}` (the checkout's HEAD when the recording ended)")
        + (f" (with other helpers' uncommitted changes to {', '.join(f'`{f}`' for f in modified)}, not on the "
           "path measured here)" if modified else "")
        + f", {rounds} round{'s' if rounds != 1 else ''}: every configuration once per round, the rounds one after "
        "another. Machine: "
        f"{m['cpus']} x {m['cpu']} (a Firecracker VM), {m['memory_mb'] / 1024:.0f} GB RAM, Linux {m['kernel']}; PHP "
        f"{m['php']} with Apache {m['apache']} prefork + mod_php, MariaDB {m['mariadb']}, WordPress "
        f"{m['wordpress']}, Datasette {m['datasette']}, Python {m['python']}, wrk {m['wrk']}. Memory size "
        f"{runs[0]['memory_mb']} MB, HTTP API front door, instances frozen between invocations, "
        f"{runs[0]['connections'] // runs[0]['concurrency']} connection per instance. **Load: a shared machine.** "
        f"The 1-min load average was {min(loads):.2f}-{max(loads):.2f} around the runs and the two cores "
        f"{min(busy):.0f}-{max(busy):.0f}% busy during them, of which {min(other):.0f}-{max(other):.0f} points "
        "were other people's work (every run's own figures are in the table of runs); the figures under "
        "concurrency say as much about that as about reweb."
    )


def summary_table(result: dict[str, Any]) -> str:
    out = ["| app | concurrency | runs | req/s | client p50 / p99 ms | Duration p50 / p99 ms | cold starts "
           "(instances started) | Init ms | $ per 1M (all) | $ per 1M (warm) | throttled, errors |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (app, n), runs in groups(result).items():
        def col(key: str, fmt: Any, rs: list[dict[str, Any]] = runs) -> str:
            return spread([FIELDS[key](r) for r in rs], fmt)
        colds = sorted({f"{r['cold_starts']} ({r['instances_started']})" for r in runs})
        inits = [i for r in runs for i in r["init_ms"]]
        out.append(
            f"| {app} | {n} | {len(runs)} | {col('rps', lambda v: f'{v:.1f}')} | {col('client_p50', ms)} / "
            f"{col('client_p99', ms)} | {col('dur_p50', ms)} / {col('dur_p99', ms)} | {', '.join(colds)} | "
            f"{min(inits):.0f}-{max(inits):.0f} | {col('all', money)} | {col('warm', money)} | "
            f"{sum(r['throttles'] for r in runs)}, {sum(errors(r) for r in runs)} |")
    return "\n".join(out)


def runs_table(result: dict[str, Any]) -> str:
    out = ["| app | concurrency | round | started (UTC) | requests | req/s | client p50 / p99 / max ms | Duration "
           "p50 / p99 ms | cold starts: Init ms | max memory used | billed GB-s | $ per 1M (all / warm) | errors | "
           "CPU ms per request | CPU busy (this run's) / 1-min load (before → end) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["results"]:
        inits = f"{r['cold_starts']}: {min(r['init_ms']):.0f}-{max(r['init_ms']):.0f}" if r["init_ms"] else "0"
        out.append(
            f"| {r['app']} | {r['concurrency']} | {r['round']} | {r['started'][11:]} | {r['client']['requests']:.0f} "
            f"| {r['rps']:.1f} | {ms(r['client']['p50_ms'])} / {ms(r['client']['p99_ms'])} / "
            f"{ms(r['client']['max_ms'])} | "
            f"{ms(r['duration_p50_ms'])} / {ms(r['duration_p99_ms'])} | {inits} | {r['max_memory_mb']} MB | "
            f"{r['gb_seconds']:.1f} | {money(r['cost_per_million'])} / {money(r['warm_cost_per_million'])} | "
            f"{errors(r)} | {r['cpu_ms_per_request']:.0f} | {r['cpu_busy_pct']:.0f}% ({r['own_cpu_pct']:.0f}%) / "
            f"{r['loadavg_before']:.2f} → {r['loadavg_after'][0]:.2f} |")
    return "\n".join(out)


def results_region(result: dict[str, Any]) -> str:
    return "\n\n".join([
        setting(result),
        "Per configuration, the median of its runs and (in brackets) their spread, lowest-highest:",
        summary_table(result),
        "Every run:",
        runs_table(result),
    ])


def changed_region(result: dict[str, Any]) -> str:
    rows = (("cold starts", "cold", lambda v: f"{v:.0f}"), ("slowest init, ms", "init_max", ms),
            ("client p50, ms", "client_p50", ms), ("client p99, ms", "client_p99", ms),
            ("Duration p50, ms", "dur_p50", ms), ("Duration p99, ms", "dur_p99", ms),
            ("req/s", "rps", lambda v: f"{v:.1f}"), ("$ per 1M (all)", "all", money),
            ("$ per 1M (warm)", "warm", money))
    found = [(key, runs) for key, runs in groups(result).items() if key in EARLIER]
    head = "| figure | " + " | ".join(f"{a} c={n}: earlier → now" for (a, n), _ in found) + " |"
    out = [head, "|---|" + "---|" * len(found)]
    for label, key, fmt in rows:
        cells = [f"{fmt(EARLIER[k][key])} → {spread([FIELDS[key](r) for r in runs], fmt)}" for k, runs in found]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join([
        "Earlier: one run per configuration on 2026-11-30 (1-min load 0.7-4.1, 48-96% of the two cores the run's "
        "own), with the earlier scaling model. Now: the median of this recording's runs (spread in brackets).",
        "", *out])


def breakeven_region(result: dict[str, Any]) -> str:
    firsts = [(app, runs) for (app, n), runs in groups(result).items()
              if n == min(c for a, c in groups(result) if a == app)]
    warm = {app: statistics.median(r["warm_cost_per_million"] for r in runs) for app, runs in firsts}
    out = ["| always-on, public on-demand price, us-east-1, as of 2026-11 (to be checked) | $ per hour | "
           "$ per month (730 h) | " + " | ".join(f"break-even req/s vs {app}" for app, _ in firsts) + " |",
           "|---|---|---|" + "---|" * len(firsts)]
    for machine in result["always_on"]:
        month = machine["per_hour"] * HOURS_PER_MONTH
        cells = [f"{month / (warm[app] / 1e6) / (HOURS_PER_MONTH * 3600):.2f}" for app, _ in firsts]
        out.append(f"| {machine['name']} | ${machine['per_hour']:.5f} | ${month:.2f} | " + " | ".join(cells) + " |")
    shown = ", ".join(f"{app} {money(warm[app])}" for app, _ in firsts)
    out += ["", f"Lambda's warm cost per million used here: the median of the lowest concurrency's runs ({shown})."]
    example = next((m for m in result["always_on"] if m["name"].startswith("EC2 t3.micro")), None)
    if example and "wordpress" in warm:
        month = example["per_hour"] * HOURS_PER_MONTH
        views = month / (warm["wordpress"] / 1e6)
        out[-1] += (f" For WordPress against a t3.micro: ${month:.2f} a month / {money(warm['wordpress'])} per million "
                    f"= {views / 1e6:.1f} million page views a month = **{views / (HOURS_PER_MONTH * 3600):.1f} "
                    "requests per second on average**.")
    return "\n".join(out)


def splice(text: str, marks: tuple[str, str], body: str) -> str:
    start, end = marks
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"the markers {start} ... {end} must appear once each, in that order")
    before, rest = text.split(start, 1)
    return f"{before}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"


def render(doc: str, result: dict[str, Any]) -> str:
    doc = splice(doc, RESULTS_MARKS, results_region(result))
    doc = splice(doc, CHANGED_MARKS, changed_region(result))
    return splice(doc, BREAKEVEN_MARKS, breakeven_region(result))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the regions of docs/load-test.md")
    mode.add_argument("--check", action="store_true", help="exit 1 when the doc is not what the recording says")
    args = ap.parse_args()
    doc = DOC.read_text(encoding="utf-8")
    text = render(doc, json.loads(RESULTS.read_text(encoding="utf-8")))
    if args.check:
        if text != doc:
            print("docs/load-test.md is not what bench/results/load_test.json says: python3 tools/load_doc.py "
                  "--write", file=sys.stderr)
            return 1
        return 0
    if args.write:
        DOC.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
