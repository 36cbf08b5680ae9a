"""Instructions per 1 KB invocation, counted by valgrind's callgrind: unlike CPU time, the count does not move
with the machine's load, so a before/after comparison holds on a busy shared VM.

    python3 bench/instructions.py [--adapter reweb|reweb@REV|CMD]... [--n 300]

Each adapter runs twice under callgrind (N and 4N invocations of the HTTP API 1 KB case, same warm-up);
the difference divided by 3N is the cost of one invocation, start-up and shutdown cancelled out.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from events import Case
from harness import Adapter, adapter_argv

PYTHON = Path(sys.executable).resolve()


def total_instructions(adapter: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out.%p"  # one file per process: reweb forks its lifeline
        argv = adapter_argv(adapter)
        if Path(argv[0]).resolve() == PYTHON:  # valgrind must see the interpreter itself, not a shim
            argv = [str(PYTHON), *argv[1:]]
        wrapper = Path(tmp) / "under-callgrind"  # a one-line script: the harness takes a command, not an argv
        wrapper.write_text("#!/bin/sh\nexec " + shlex.join(["valgrind", "--tool=callgrind",
                                                            f"--callgrind-out-file={out}", *argv]) + "\n")
        wrapper.chmod(0o755)
        case = Case()
        with Adapter(str(wrapper), start_timeout=120.0) as run:
            run.invoke([case.event()] * 20, timeout=600)
            batch, _ = run.invoke([case.event()] * n, timeout=600)
            assert not batch.errors, batch.errors
        totals = []
        for path in Path(tmp).glob("callgrind.out.*"):
            summary = re.search(r"^(?:summary|totals): (\d+)", path.read_text(errors="replace"), re.M)
            if summary is not None:
                totals.append(int(summary.group(1)))
        if not totals:
            raise RuntimeError("no totals in callgrind's output")
        return max(totals)  # the adapter's own process (the lifeline does next to nothing)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--adapter", action="append", help="as in bench/run.py (repeat to compare)")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    print(f"{'adapter':<32} {'instructions per 1 KB invocation':>34}")
    for adapter in args.adapter or ["reweb"]:
        small, large = total_instructions(adapter, args.n), total_instructions(adapter, 4 * args.n)
        print(f"{adapter:<32} {(large - small) / (3 * args.n):>34,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
