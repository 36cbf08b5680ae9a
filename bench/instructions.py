"""Instructions per 1 KB invocation, counted by valgrind's callgrind: unlike CPU time, the count does not move
with the machine's load, so a before/after comparison holds on a busy shared VM.

    python3 bench/instructions.py [--adapter reweb|reweb@REV|CMD]... [--n 300]

Each adapter runs twice under callgrind (N and 4N invocations of the HTTP API 1 KB case, same warm-up);
the difference divided by 3N is the cost of one invocation, start-up and shutdown cancelled out.

Start-up cancels out only when it costs the same in both runs. Bytecode is cached (bench/common.py's
bytecode_env, keyed by the source's path), so the first start of a source no run has started yet (every new
reweb@REV checkout; the work tree after an edit) compiles its modules from source: ~240 million instructions, all in
the N run, which made a reweb@REV figure far too low, even negative. So each adapter first runs once outside
callgrind, to compile and cache its bytecode, and the counted runs use one hash seed. A work tree edited while
`reweb` is counted (a shared checkout) is reported.
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
SOURCE = Path(__file__).resolve().parent.parent / "src" / "reweb"
#: The counted runs: one hash seed, so dict and set layouts (and their instruction counts) are the same in both.
COUNTED_ENV = {"PYTHONHASHSEED": "0"}


def warm_up(adapter: str) -> None:
    """One start and a few invocations outside callgrind: every module the counted runs import (at start and on
    the 1 KB path) is compiled and its bytecode cached before either is counted."""
    with Adapter(adapter, env=COUNTED_ENV, start_timeout=60.0) as run:
        batch, _ = run.invoke([Case().event()] * 3, timeout=60)
        assert not batch.errors, batch.errors


def source_state() -> tuple[tuple[str, int, int], ...]:
    """The work tree's reweb sources (name, size, mtime): what the `reweb` adapter runs when installed editable."""
    state = []
    for path in sorted(SOURCE.rglob("*.py")):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed since the listing: a change too (its absence shows in the next state)
            continue
        state.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(state)


def per_invocation(adapter: str, n: int) -> tuple[float, bool]:
    """Instructions per 1 KB invocation, and whether the work tree's sources changed while it was counted."""
    warm_up(adapter)
    before = source_state()
    small, large = total_instructions(adapter, n), total_instructions(adapter, 4 * n)
    return (large - small) / (3 * n), adapter == "reweb" and source_state() != before


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
        with Adapter(str(wrapper), env=COUNTED_ENV, start_timeout=120.0) as run:
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
    changed = False
    for adapter in args.adapter or ["reweb"]:
        count, moved = per_invocation(adapter, args.n)
        changed |= moved
        print(f"{adapter:<32} {count:>34,.0f}" + ("  (src/reweb changed while counted)" if moved else ""))
    if changed:
        print("src/reweb changed during the count (someone edits this tree): that figure mixes two trees; "
              "compare with reweb@REV checkouts instead", file=sys.stderr)
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
