"""reweb benchmarks: `python3 bench/run.py [--quick] [--sections a,b] [--adapter reweb|fake|CMD] [--markdown F]
[--record]`.

Prints one table per measurement and a targets table (met / not met), then re:Web and both reweb builds side by
side under the real RIE (bench/sidebyside.py). `--record` writes bench/results/ (run.md, sidebyside.json) and
regenerates docs/performance.md's generated sections from them (tools/perf_doc.py). Never run as a test: timings
need a quiet machine. Everything binds to 127.0.0.1 and every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sidebyside
from coldstart import cold_start
from common import REPO_DIR
from concurrency import concurrency
from cpuprof import cpuprof
from harness import Stats
from memory import memory
from overhead import Budget, kinds, nagle, sizes
from report import Report
from rie import rie_crosscheck
from spy import profile
from stages import stages
from streaming import streaming

RUN_RESULTS = REPO_DIR / "bench" / "results" / "run.md"
SIDE: dict[str, Any] = {}  # the side-by-side section's result, for --record


def size_targets(results: dict[str, Stats], report: Report) -> None:
    small, floor = results.get("response 1 KB text"), results.get("response 1 KB text floor")
    big = results.get("response 4 MB text")
    if small and floor:
        report.target("adapter CPU per 1 KB invocation", "<= 250 us", f"{small.cpu_us:.0f} us",
                      small.cpu_us <= 250 and not small.errors)
        added = small.p50_ms - floor.p50_ms
        report.target("added p50 latency over the floor (1 KB)", "<= 0.5 ms", f"{added:.3f} ms",
                      added <= 0.5 and not small.errors)
    if big:
        report.target("adapter CPU, 4 MB text response", "<= 30 ms", f"{big.cpu_us / 1e3:.1f} ms",
                      big.cpu_us <= 30_000 and not big.errors)


def side_by_side(adapter: str, quick: bool, report: Report) -> None:
    """re:Web and both reweb builds under the real RIE (bench/sidebyside.py; `adapter` does not apply)."""
    command = "python3 bench/run.py" + (" --quick" if quick else "")
    result = sidebyside.run(rounds=2 if quick else 5, quick=quick, command=command)
    sidebyside.show(result)
    SIDE.clear()
    SIDE.update(result)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    commit = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    load = os.getloadavg()[0]
    busy = " (busy: numbers may be noisy)" if load > 0.5 else ""
    return (f"{os.cpu_count()} x {cpu}; Linux {platform.release()}; Python {platform.python_version()}; "
            f"reweb at {commit or '?'}; {time.strftime('%Y-%m-%d %H:%M')}; load {load:.2f} before the run{busy}")


def main(argv: list[str] | None = None) -> int:
    sections: dict[str, Callable[[str, bool, Report], None]] = {
        "sizes": lambda a, q, r: size_targets(sizes(a, Budget(q), r), r),
        "kinds": lambda a, q, r: kinds(a, Budget(q), r),
        "nagle": lambda a, q, r: nagle(a, Budget(q), r),
        "streaming": streaming,
        "coldstart": cold_start,
        "memory": memory,
        "concurrency": concurrency,
        "rie": rie_crosscheck,
        "profile": profile,
        "cpuprof": cpuprof,
        "stages": stages,
        "sidebyside": side_by_side,
    }
    default = [name for name in sections if name not in ("profile", "cpuprof", "stages")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer invocations (about 2 minutes in all)")
    parser.add_argument("--sections", default=",".join(default),
                        help=f"comma-separated, from: {', '.join(sections)} (default: all but the profilers)")
    parser.add_argument("--adapter", default="reweb",
                        help="reweb (default), fake (bench/fake_adapter.py, checks the benchmark), lean "
                        "(bench/lean_adapter.py, the least a Python loop can do) or a command")
    parser.add_argument("--markdown", type=Path, help="also write the tables as markdown to this file")
    parser.add_argument("--record", action="store_true",
                        help="write bench/results/run.md and sidebyside.json, then regenerate docs/performance.md")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in sections]
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")

    report = Report()
    about = machine()
    print(f"adapter: {args.adapter}; {about}\n", flush=True)
    started = time.monotonic()
    for name in chosen:
        section_start = time.monotonic()
        try:
            sections[name](args.adapter, args.quick, report)
        except Exception as exc:  # one broken section must not hide the others' numbers
            print(f"!! section {name} failed: {type(exc).__name__}: {exc}\n", flush=True)
        print(f"   ({name}: {time.monotonic() - section_start:.0f} s)\n", flush=True)
    print(report.targets_table().text())
    print(f"\nTotal {time.monotonic() - started:.0f} s.")
    mode = "quick" if args.quick else "full"
    header = (f"Results: `python3 bench/run.py{' --quick' if args.quick else ''}` ({mode}), adapter "
              f"`{args.adapter}`.  \nMachine: {about}\n")
    if args.markdown:
        args.markdown.write_text(report.markdown(header))
        print(f"markdown written to {args.markdown}")
    if args.record:
        RUN_RESULTS.parent.mkdir(exist_ok=True)
        RUN_RESULTS.write_text(report.markdown(header).replace("\n### ", "\n#### "))
        print(f"recorded in {RUN_RESULTS.relative_to(REPO_DIR)}")
        if SIDE:
            sidebyside.record(SIDE)
        sys.path.insert(0, str(REPO_DIR))
        from tools.perf_doc import main as write_docs

        write_docs(["--write"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
