"""Runs reweb under cProfile timed by the thread's CPU clock (time.thread_time), so waiting and preemption
are not counted: `python3 bench/cprofile_reweb.py OUT.prof [reweb args]`. SIGUSR2 starts profiling (after init
and warm-up), SIGUSR1 stops it and writes OUT.prof, then OUT.prof.done. Only for bench/cpuprof.py."""

from __future__ import annotations

import cProfile
import signal
import sys
import time
from pathlib import Path
from types import FrameType

OUT = sys.argv[1]
PROFILER = cProfile.Profile(time.thread_time)


def start(_signum: int, _frame: FrameType | None) -> None:
    PROFILER.enable()


def stop(_signum: int, _frame: FrameType | None) -> None:
    PROFILER.disable()
    PROFILER.dump_stats(OUT)
    Path(OUT + ".done").write_text("1")


signal.signal(signal.SIGUSR2, start)
signal.signal(signal.SIGUSR1, stop)

from reweb.cli import main  # noqa: E402  (after the handlers: the profile starts on a signal)

sys.exit(main(sys.argv[2:]))
