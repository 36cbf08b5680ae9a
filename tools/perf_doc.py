"""Generate the measured parts of the docs from recorded results (never typed by hand).

    python3 tools/perf_doc.py [--write | --check]

- docs/performance.md, between `<!-- perf:sidebyside:start -->` and `<!-- perf:sidebyside:end -->`: re:Web and
  both reweb builds under the real RIE, and the per-invocation floor (the bench's driver vs the RIE), from
  bench/results/sidebyside.json (`python3 bench/sidebyside.py --record`).
- docs/performance.md, between `<!-- perf:full:start -->` and `<!-- perf:full:end -->`: every table of
  `python3 bench/run.py`, from bench/results/run.md (`python3 bench/run.py --record`).
- docs/apps/<app>.md, between `<!-- coldstart:start -->` and `<!-- coldstart:end -->`: the cold-start paragraph,
  from tests/apps/results/cold_start.json (`python3 bench/app_cold_start.py --record`), the README's source too.

--check exits 1 when a region is not what the results say (tests/test_perf_doc.py runs it) and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIDE_RESULTS = ROOT / "bench" / "results" / "sidebyside.json"
RUN_RESULTS = ROOT / "bench" / "results" / "run.md"
COLD_RESULTS = ROOT / "tests" / "apps" / "results" / "cold_start.json"
PERF_DOC = ROOT / "docs" / "performance.md"
APPS_DIR = ROOT / "docs" / "apps"
PERF_MARKS = ("<!-- perf:sidebyside:start -->", "<!-- perf:sidebyside:end -->")
FULL_MARKS = ("<!-- perf:full:start -->", "<!-- perf:full:end -->")
COLD_MARKS = ("<!-- coldstart:start -->", "<!-- coldstart:end -->")
COLD_SUMMARY_MARKS = ("<!-- perf:coldsummary:start -->", "<!-- perf:coldsummary:end -->")
REFERENCE = "reweb-go"

#: The side-by-side rows: (label, metric, unit, ratio to re:Web shown).
ROWS: tuple[tuple[str, str, str, bool], ...] = (
    ("CPU per invocation, 1 KB text", "cpu_us_1k_text", "us", True),
    ("CPU per invocation, 1 MB text", "cpu_us_1m_text", "us", True),
    ("CPU per invocation, 4 MB text", "cpu_us_4m_text", "us", True),
    ("CPU per invocation, 1 MB binary", "cpu_us_1m_bin", "us", True),
    ("p50 latency at the RIE's invoke endpoint, 1 KB text", "p50_ms_1k_text", "ms", False),
    ("p50 latency, app writing headers and body in two sends (Nagle)", "p50_ms_nagle", "ms", False),
    ("Init: the RIE's INIT REPORT, app ready at once", "init_ms", "ms", False),
    ("idle RSS, the runtime's processes together", "idle_rss_mb", "MB", False),
    ("idle RSS, its largest process", "idle_rss_main_mb", "MB", False),
    ("idle private memory (RssAnon), the runtime's processes together", "idle_anon_mb", "MB", False),
)


def _scale(value: float, unit: str) -> tuple[float, str]:
    """The unit a figure is shown in: microseconds from 1 ms on become milliseconds."""
    if unit == "us" and value >= 1_000:
        return 1000.0, "ms"
    return 1.0, unit


def _num(value: float, unit: str, div: float = 1.0) -> str:
    value /= div
    if unit == "us":
        return f"{value:.0f}"
    if unit == "ms":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return f"{value:.1f}"


def _median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def _cell(samples: list[float] | None, unit: str, reference: float | None = None) -> str:
    """median (min-max) unit, and the ratio to the reference's median when given."""
    if not samples:
        return "-"
    mid = _median(samples)
    div, shown = _scale(mid, unit)
    text = f"{_num(mid, shown, div)} ({_num(min(samples), shown, div)}-{_num(max(samples), shown, div)})"
    text += f" {shown}" if shown else ""
    if reference:
        text += f", **{mid / reference:.2f}x**"
    return text


def _runtimes(result: dict[str, Any]) -> list[str]:
    return [k for k in (REFERENCE, "pip", "exe") if k in result["runtimes"]]


def _setting(result: dict[str, Any]) -> str:
    m = result["machine"]
    during = m.get("load_during", [])
    go = result["runtimes"].get(REFERENCE)
    counts = result.get("counts", {})
    # A run without --record is shown, not kept: its header must not claim a recording (a file holds only
    # recorded runs, so one without the key was recorded).
    how = (f"Recorded by `{result['command']} --record`" if result.get("recorded", True)
           else f"Measured (not recorded) by `{result['command']}`")
    lines = [
        f"{how} on {result['when']} at reweb `{result['commit']}` in "
        f"{result['seconds']} s: {result['rounds']} rounds, each starting every runtime in turn under its own "
        f"{result['rie']} (the order rotates every round), the same app (`bench/app.py`) and the same HTTP API v2 "
        f"events for all; per round {counts.get('1k_text', '?')} invocations of 1 KB, {counts.get('1m_text', '?')} "
        f"of 1 MB, {counts.get('4m_text', '?')} of 4 MB. Machine: {m['cpus']} x {m['cpu']}, Linux {m['kernel']}, "
        f"Python {m['python']}; **load average {m['load_before']} before, "
        f"{min(during, default=0):.1f}-{max(during, default=0):.1f} during, {m.get('load_after', '?')} after**"
        + (" (a busy machine: CPU figures move with it; compare columns, which ran interleaved)"
           if max(during, default=0) > 1.0 else "") + ".",
    ]
    if go:
        lines.append(f"re:Web: {go['source']} at `{go['commit']}`, {go['dependency']}, {go['go']}, "
                     f"{go['build']}.")
    if "exe" in result["runtimes"]:
        exe = result["runtimes"]["exe"]
        lines.append(f"reweb executable: `dist/{exe['file']}` ({exe['size_mb']} MB, sha256 "
                     f"{exe.get('sha256', '?')}..., built {exe['built']} UTC).")
    if "pip" in result["runtimes"]:
        lines.append(f"reweb pip: `{result['runtimes']['pip']['command']}` ({result['runtimes']['pip']['version']}).")
    lines.append(f"Init app: {result['init_app']}.")
    for note in result.get("not_measured", []):
        lines.append(f"Not measured: {note.splitlines()[0]}")
    problems: list[str] = result.get("problems", [])
    text = " ".join(lines)
    if problems:  # each once, with how often: a round with a wrong answer recorded no figure for that case
        counted = {p: problems.count(p) for p in problems}
        text += "\n\nProblems seen (those rounds recorded no figure):\n\n" + "\n".join(
            f"- {p}" + (f" ({n} times)" if n > 1 else "") for p, n in counted.items())
    return text


def side_by_side(result: dict[str, Any]) -> str:
    """The side-by-side table (markdown; the bench prints the same)."""
    keys = _runtimes(result)
    values: dict[str, dict[str, list[float]]] = result["values"]
    head = ["measure (median of rounds, min-max)", *(result["runtimes"][k]["label"] for k in keys)]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * len(keys)]
    for label, metric, unit, ratio in ROWS:
        per = values.get(metric, {})
        ref = _median(per[REFERENCE]) if ratio and per.get(REFERENCE) else None
        cells = [_cell(per.get(k), unit, ref if k != REFERENCE else None) for k in keys]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    procs = values.get("processes", {})
    lines.append("| processes of the runtime | " + " | ".join(
        f"{_median(procs[k]):.0f}" if procs.get(k) else "-" for k in keys) + " |")
    lines += ["", "CPU is utime+stime of the runtime's processes (the adapter and what it forked, e.g. reweb's "
              "lifeline; never the app) from `/proc`, or the per-thread `schedstat` sum when it agrees, over a "
              "batch of invocations, divided by their number. A ratio is reweb's median over re:Web's. RSS "
              "includes the pages of the program's file it has mapped, which move with the page cache (the same "
              "executable shows 5 MB more when its file was written in one go); RssAnon is the runtime's own "
              "memory."]
    return "\n".join(lines)


def floor_section(result: dict[str, Any]) -> str:
    """Issue 21, point 5: the 1 KB case under the bench's own driver and under the real RIE."""
    keys = _runtimes(result)
    values: dict[str, dict[str, list[float]]] = result["values"]

    def med(metric: str, key: str) -> float:
        return _median(values.get(metric, {}).get(key, []))

    lines = [
        "| 1 KB text, per invocation | " + " | ".join(result["runtimes"][k]["label"] for k in keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    rows = (
        ("runtime CPU, bench driver (events queued back to back)", "driver_cpu_us_1k_text", "us"),
        ("runtime CPU, bench driver, one event at a time", "driver_serial_cpu_us_1k_text", "us"),
        ("runtime CPU, real RIE", "cpu_us_1k_text", "us"),
        ("the RIE's own CPU", "rie_cpu_us_1k_text", "us"),
        ("runtime voluntary context switches, bench driver (back to back)", "driver_switches_1k_text", ""),
        ("runtime voluntary context switches, bench driver (one at a time)", "driver_serial_switches_1k_text", ""),
        ("runtime voluntary context switches, real RIE", "switches_1k_text", ""),
        ("runtime preempted (involuntary switches), bench driver (back to back)", "driver_preempted_1k_text", ""),
        ("runtime preempted, bench driver (one at a time)", "driver_serial_preempted_1k_text", ""),
        ("runtime preempted, real RIE", "preempted_1k_text", ""),
        ("runtime moved to the other CPU, bench driver (back to back)", "driver_migrations_1k_text", ""),
        ("runtime moved to the other CPU, bench driver (one at a time)", "driver_serial_migrations_1k_text", ""),
        ("runtime moved to the other CPU, real RIE", "migrations_1k_text", ""),
        ("p50 latency, bench driver (its /next answer to the whole /response)", "driver_p50_ms_1k_text", "ms"),
        ("p50 latency, real RIE (invoke POST to its answer)", "p50_ms_1k_text", "ms"),
    )
    for label, metric, unit in rows:
        if not values.get(metric):
            continue
        lines.append(f"| {label} | " + " | ".join(_cell(values[metric].get(k), unit) for k in keys) + " |")
    parts: list[str] = []
    for key in keys:
        driver, serial, rie = (med("driver_cpu_us_1k_text", key), med("driver_serial_cpu_us_1k_text", key),
                               med("cpu_us_1k_text", key))
        if driver == driver and rie == rie and driver > 0:
            parts.append(f"{result['runtimes'][key]['label']}: {rie:.0f} us under the RIE, {driver:.0f} us under "
                         f"the driver back to back ({rie / driver:.2f}x)"
                         + (f", {serial:.0f} us one event at a time" if serial == serial else ""))
    if parts:
        lines += ["", "Medians: " + "; ".join(parts) + "."]
    counted: dict[str, dict[str, float]] = result.get("instructions") or {}
    if counted:
        lines += ["", "Instructions per 1 KB invocation (valgrind's callgrind, N and 4N invocations, the difference "
                  "over 3N; once, after the rounds; a count the machine's load does not move):", "",
                  "| runtime | real RIE | bench driver, back to back | RIE / driver |", "|---|---:|---:|---:|"]
        for key in keys:
            if key in counted:
                rie, drv = counted[key]["rie"], counted[key]["driver"]
                lines.append(f"| {result['runtimes'][key]['label']} | {rie:,.0f} | {drv:,.0f} | {rie / drv:.3f} |")
    traced: dict[str, dict[str, dict[str, float]]] = result.get("syscalls") or {}
    if traced:
        lines += ["", "System calls of the runtime per 1 KB invocation (`strace -c -f` over 200 invocations, once, "
                  "after the rounds; all calls in all, then the most frequent):", "",
                  "| runtime | real RIE | bench driver, back to back | bench driver, one at a time |",
                  "|---|---|---|---|"]
        for key in keys:
            cells = [_calls(traced.get(mode, {}).get(key)) for mode in ("rie", "driver", "driver_serial")]
            lines.append(f"| {result['runtimes'][key]['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _calls(counts: dict[str, float] | None) -> str:
    if not counts:
        return "-"
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{name} {count:.1f}" for name, count in top[:6] if count >= 0.05)
    return f"**{sum(counts.values()):.1f}**: {shown}"


def render_perf(result: dict[str, Any]) -> str:
    return "\n".join([_setting(result), "", side_by_side(result), "", "### The per-invocation floor: the bench's "
                      "driver and the real RIE", "", floor_section(result)])


# -- cold-start paragraphs of the app guides --------------------------------------------------------------------

def _spread(samples: list[float]) -> str:
    return f"{statistics.median(samples):.0f} ms ({min(samples):.0f}-{max(samples):.0f})"


def cold_paragraph(cold: dict[str, Any], app: str) -> str:
    row = cold["apps"][app]
    m = cold.get("machine", {})
    runtime = {"exe": "the one-file executable `dist/reweb-linux-x86_64`", "python": "`python3 -m reweb`"}.get(
        cold.get("runtime", "python"), f"`{cold.get('runtime')}`")
    return (
        f"Recorded by `python3 bench/app_cold_start.py --record` ({cold.get('when', '?')}, {cold.get('runs', '?')} "
        f"starts each way, alternated, through `--source {cold.get('source', '?')}`, {runtime} as the runtime, on "
        f"this project's {m.get('cpus', '?')}-core machine, load average {m.get('load_before', '?')} before and "
        f"{m.get('load_after', '?')} after): the app alone takes **{_spread(row['direct_ms'])}** from its spawn to "
        f"its first ready answer; through `reweb local` the emulated Lambda **Init Duration is "
        f"{_spread(row['init_ms'])}**, of which the app's own start, timed inside that same Init, is "
        f"{_spread(row['app_ready_inside_ms'])} and reweb's part **{row['reweb_own_ms']:.0f} ms** (median of Init "
        "minus the app's start, per start). What reweb's part is made of: "
        "[../performance.md](../performance.md#cold-start-of-real-apps).")


def cold_summary(cold: dict[str, Any]) -> str:
    """One sentence over every app of the README's cold-start table: the range of reweb's own part."""
    own = {app: row["reweb_own_ms"] for app, row in cold["apps"].items()}
    low, high = min(own, key=own.__getitem__), max(own, key=own.__getitem__)
    m = cold.get("machine", {})
    return (f"The README's cold-start table (`tests/apps/results/cold_start.json`, recorded by `python3 "
            f"bench/app_cold_start.py --record` on {cold.get('when', '?')}, {cold.get('runs', '?')} starts each way, "
            f"runtime `{cold.get('runtime', 'python')}`, load average {m.get('load_before', '?')} before and "
            f"{m.get('load_after', '?')} after): reweb's own part of Init is **{own[low]:.0f}-{own[high]:.0f} ms "
            f"across the {len(own)} apps** ({low} to {high}; each the median over its starts).")


def splice(text: str, marks: tuple[str, str], body: str) -> str:
    start, end = marks
    if start not in text or end not in text:
        raise ValueError(f"no {start} ... {end} markers")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{body}\n{end}{after}"


def targets() -> dict[Path, str]:
    """Every generated file with the text it should have."""
    out: dict[Path, str] = {}
    perf = PERF_DOC.read_text(encoding="utf-8")
    if SIDE_RESULTS.exists():
        perf = splice(perf, PERF_MARKS, render_perf(json.loads(SIDE_RESULTS.read_text(encoding="utf-8"))))
    if RUN_RESULTS.exists():
        perf = splice(perf, FULL_MARKS, RUN_RESULTS.read_text(encoding="utf-8").strip())
    cold = json.loads(COLD_RESULTS.read_text(encoding="utf-8"))
    perf = splice(perf, COLD_SUMMARY_MARKS, cold_summary(cold))
    out[PERF_DOC] = perf
    for guide in sorted(APPS_DIR.glob("*.md")):
        text = guide.read_text(encoding="utf-8")
        if COLD_MARKS[0] in text:
            out[guide] = splice(text, COLD_MARKS, cold_paragraph(cold, guide.stem))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated region is out of date")
    parser.add_argument("--write", action="store_true", help="rewrite the generated regions")
    args = parser.parse_args(argv)
    stale = [path for path, text in targets().items() if path.read_text(encoding="utf-8") != text]
    if args.write:
        for path, text in targets().items():
            if path in stale:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
        return 0
    for path in stale:
        print(f"{path.relative_to(ROOT)} is out of date: run python3 tools/perf_doc.py --write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
