"""The REPORT Duration `reweb local` gives a small warm request, for git revisions side by side.

    python3 bench/local_duration.py [--requests N] [--rounds R] REV [REV ...]     (e.g. HEAD~1 HEAD)

Each revision's src/ is taken with `git archive` into a temporary folder; each round starts `reweb local`
(--concurrency 1, tests/local/apps/webapp.py as the app) once per revision, in turn, sends N sequential
GET /text on loopback and reads the REPORT lines. Printed: per revision, the median and p90 Duration of the warm
invocations over all rounds. What it is for: a change to how the emulator measures or to what reweb does between
its answer and its next /next (both count on Lambda).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from io import BytesIO
from pathlib import Path

from common import HOST, REPO_DIR, free_port

REPORT = re.compile(r"^REPORT RequestId: \S+\tDuration: ([0-9.]+) ms", re.M)
APP = REPO_DIR / "tests" / "local" / "apps" / "webapp.py"


def checkout(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO_DIR), "archive", rev, "src"], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def warm_durations(src: Path, requests: int, log: Path) -> list[float]:
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "reweb.local", "--port", str(port), "--concurrency", "1",
                                 "--", sys.executable, str(APP)], stdout=out, stderr=subprocess.STDOUT,
                                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(src), "HOME": "/tmp"},
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "ready: open" not in log.read_text():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"reweb local did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        for i in range(requests):
            with urllib.request.urlopen(f"http://{HOST}:{port}/text?id={i}", timeout=30) as r:
                r.read()
        deadline = time.monotonic() + 10
        while len(REPORT.findall(log.read_text())) < requests and time.monotonic() < deadline:
            time.sleep(0.05)
        return [float(d) for d in REPORT.findall(log.read_text())[1:]]  # the first is the cold start
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revs", nargs="+")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reweb-duration-") as tmp:
        srcs = {rev: checkout(rev, Path(tmp) / f"rev{i}") for i, rev in enumerate(args.revs)}
        got: dict[str, list[float]] = {rev: [] for rev in args.revs}
        for _ in range(args.rounds):
            for rev, src in srcs.items():
                got[rev] += warm_durations(src, args.requests, Path(tmp) / "local.log")
    print("| revision | warm invocations | Duration median, ms | Duration p90, ms |")
    print("|---|---|---|---|")
    for rev, durations in got.items():
        p90 = statistics.quantiles(durations, n=10)[-1]
        print(f"| {rev} | {len(durations)} | {statistics.median(durations):.2f} | {p90:.2f} |")


if __name__ == "__main__":
    main()
