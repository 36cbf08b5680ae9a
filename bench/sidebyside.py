"""re:Web (Go) beside reweb (pip install and one-file executable) under the real Lambda RIE, interleaved.

    python3 bench/sidebyside.py [--rounds 5] [--quick] [--record] [--go-source PATH] [--only pip,exe]

Each round starts every runtime in turn (the order rotates every round) under its own real RIE
(tests/support/rie.py's binary) and measures, with the same app (bench/app.py) and the same events:
- CPU per invocation of the runtime's process tree (the adapter and whatever it forked, e.g. reweb's lifeline; not
  the app) from /proc: utime+stime, or the per-thread schedstat sum when it agrees (finer than 10 ms ticks);
  the RIE's own CPU per invocation too; context switches of the runtime per invocation;
- the p50 latency at the RIE's invoke endpoint, and through an http.server app (headers and body in two sends:
  the Nagle trap);
- Init: the RIE's INIT REPORT durationMs with an app that is ready at once (busybox httpd, else a `python3 -S`
  app), and the runtime tree's RSS when idle;
- the bench's own runtime driver (bench/driver.py) for the 1 KB case, beside the RIE (issue 21, point 5).
Every figure is kept per round; the table shows the median and the spread (min-max over rounds). `--record` writes
bench/results/sidebyside.json, from which tools/perf_doc.py generates docs/performance.md's side-by-side section.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import goreweb
from common import (
    BENCH_DIR,
    CACHE_DIR,
    CLK_TCK,
    HOST,
    REPO_DIR,
    Child,
    children,
    cpu_ns,
    cpu_seconds,
    free_port,
    keep_recent,
    percentile,
    status_kb,
    wait_port,
)
from events import Case, decode_response
from harness import LAMBDA_ENV, Adapter, adapter_argv, app_command
from rie import RieClient

RESULTS = BENCH_DIR / "results" / "sidebyside.json"
KB, MB = 1024, 1024 * 1024
RIE_VERSION = "1.170.0"  # tests/support/rie.py's SAM_CLI_VERSION
_INIT = re.compile(rb"INIT REPORT\(durationMs: ([0-9.]+)\)")


@dataclass(frozen=True)
class Runtime:
    key: str
    label: str
    argv: list[str]
    about: dict[str, str]


@dataclass(frozen=True)
class Load:
    """One measured case: what the app answers and how many invocations a round makes of it (full, quick)."""

    key: str
    label: str
    case: Case
    full: int
    quick: int


LOADS = (
    Load("1k_text", "1 KB text", Case(), 400, 100),
    Load("1m_text", "1 MB text", Case(response_size=MB), 40, 10),
    Load("4m_text", "4 MB text", Case(response_size=4 * MB), 12, 4),
    Load("1m_bin", "1 MB binary", Case(response_size=MB, body_type="bin"), 40, 10),
)


def rie_binary() -> Path:
    """The RIE the test suite uses (fetched from the aws-sam-cli wheel and cached by tests/support/rie.py)."""
    sys.path.insert(0, str(REPO_DIR))
    from tests.support.rie import rie_binary as fetch

    return fetch()


def runtimes(go_source: str | None, lambda_go: str | None, only: set[str] | None) -> tuple[list[Runtime], list[str]]:
    """The runtimes that can run here, and a note for each that cannot."""
    found: list[Runtime] = []
    notes: list[str] = []
    want = only or {"reweb-go", "pip", "exe"}
    if "reweb-go" in want:
        try:
            binary, about = goreweb.build(go_source, lambda_go)
            found.append(Runtime("reweb-go", "re:Web (Go)", [str(binary)], about))
        except goreweb.NotAvailable as exc:
            notes.append(f"re:Web not measured: {exc}")
    if "pip" in want:
        argv = adapter_argv("reweb")
        version = subprocess.run([*argv, "--version"], capture_output=True, text=True, check=False).stdout.strip()
        found.append(Runtime("pip", "reweb pip", argv, {"command": " ".join(Path(a).name for a in argv),
                                                        "version": version}))
    if "exe" in want:
        exe = Path(os.environ.get("REWEB_EXE", REPO_DIR / "dist" / "reweb-linux-x86_64"))
        if exe.exists():
            # A copy, taken once: a rebuild of dist/ during the run must not change what is measured.
            data = exe.read_bytes()
            digest = hashlib.sha256(data).hexdigest()[:12]
            copy = CACHE_DIR / f"exe-{digest}" / exe.name
            if not copy.exists():
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.with_suffix(".tmp").write_bytes(data)
                copy.with_suffix(".tmp").chmod(0o755)
                copy.with_suffix(".tmp").rename(copy)
            keep_recent(copy.parent)
            found.append(Runtime("exe", "reweb executable", [str(copy)],
                                 {"file": exe.name, "size_mb": f"{len(data) / 1e6:.1f}", "sha256": digest,
                                  "built": time.strftime("%Y-%m-%d %H:%M", time.gmtime(exe.stat().st_mtime))}))
        else:
            notes.append(f"reweb executable not measured: {exe} is missing (bash scripts/build makes it)")
    return found, notes


# -- /proc ------------------------------------------------------------------------------------------------

def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def tree_cpu(pids: list[int]) -> tuple[float, int]:
    """(utime+stime seconds, schedstat nanoseconds) summed over the processes."""
    ticks, ns = 0.0, 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            ticks += cpu_seconds(pid)
            ns += cpu_ns(pid)
    return ticks, ns


def cpu_delta(before: tuple[float, int], after: tuple[float, int]) -> float:
    # schedstat is exact but misses threads that ended in between; then trust the tick counts.
    by_stat, by_sched = after[0] - before[0], (after[1] - before[1]) / 1e9
    return by_sched if by_sched >= by_stat - 2 / CLK_TCK else by_stat


def switches(pids: list[int]) -> tuple[int, int, int]:
    """(voluntary, involuntary) context switches and CPU migrations of every thread of the processes (a
    process's own status counts its main thread only)."""
    vol = invol = moved = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    for line in (task / "status").read_text().splitlines():
                        if line.startswith("voluntary_ctxt_switches"):
                            vol += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches"):
                            invol += int(line.split()[1])
                    for line in (task / "sched").read_text().splitlines():
                        if line.startswith("se.nr_migrations"):
                            moved += int(line.split()[-1])
    return vol, invol, moved


def put_switches(put: Callable[[str, float], None], prefix: str, before: tuple[int, int, int],
                 after: tuple[int, int, int], n: int) -> None:
    for name, first, last in zip(("switches", "preempted", "migrations"), before, after, strict=True):
        put(f"{prefix}{name}_1k_text", (last - first) / n)


# -- one runtime under the RIE --------------------------------------------------------------------------------

class UnderRie:
    """The RIE with one runtime as its bootstrap and `app` as REWEB_APPLICATION_EXEC on `port`."""

    def __init__(self, runtime: Runtime, app: str, port: int, app_marker: bytes) -> None:
        self.rie_port, api_port = free_port(), free_port()
        self.app_marker, self.app_port = app_marker, port
        self.log = Path(tempfile.mkstemp(prefix="sidebyside-rie-", suffix=".log")[1])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REWEB_", "AWS_LWA_"))}
        env.update(LAMBDA_ENV, AWS_LAMBDA_FUNCTION_TIMEOUT="60", REWEB_APPLICATION_EXEC=app,
                   REWEB_APPLICATION_PORT=str(port))
        argv = [str(rie_binary()), "--runtime-interface-emulator-address", f"{HOST}:{self.rie_port}",
                "--runtime-api-address", f"{HOST}:{api_port}", *runtime.argv]
        self.child = Child(argv, env, stderr_path=self.log)
        if not wait_port(self.rie_port, 10.0):
            self.close()
            raise RuntimeError(f"the RIE did not open its port for {runtime.label}")
        self.client: RieClient | None = None

    def invoke(self, event: bytes) -> tuple[float, bytes]:
        if self.client is None:
            self.client = RieClient(self.rie_port)
        return self.client.invoke(event)

    def runtime_pids(self) -> list[int]:
        """The runtime's process tree under the RIE, without the app (and the shell that may start it)."""
        return [pid for pid in children(self.child.pid) if self.app_marker not in cmdline(pid)
                and not cmdline(pid).startswith(b"/bin/sh\0")]

    def init_ms(self) -> float | None:
        """The RIE's INIT REPORT duration of a successful init (None if the init failed or was not reported)."""
        data = self.log.read_bytes() if self.log.exists() else b""
        found = _INIT.search(data)
        if not found or b"INIT RTDONE(status: success)" not in data[:found.start()]:
            return None
        return float(found.group(1))

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.sock.close()
        self.child.stop()
        # An app whose runtime died mid-run was handed to init and is no longer the RIE's descendant: find it by
        # its command line (our marker and our port) and stop it too.
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                line = cmdline(int(entry.name))
                if self.app_marker in line and re.search(rb"[\0:]%d\0" % self.app_port, line):
                    with contextlib.suppress(OSError):
                        os.kill(int(entry.name), signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.log.unlink()

    def __enter__(self) -> UnderRie:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check(case: Case, payload: bytes) -> str:
    try:
        status, body = decode_response(payload)
    except ValueError as exc:
        return f"not JSON: {exc}: {payload[:120]!r}"
    if status != 200 or len(body) != case.response_size:
        return f"status {status} with {len(body)} body bytes, expected 200 with {case.response_size}"
    return ""


def ready_app() -> tuple[str, bytes, str]:
    """An app that is ready at once, for Init: (command, cmdline marker, description)."""
    busybox = shutil.which("busybox")
    if busybox:
        root = BENCH_DIR / ".cache" / "www"  # GET / (re:Web's readiness probe) answers 200 with this page
        root.mkdir(parents=True, exist_ok=True)
        (root / "index.html").write_text("ready\n")
        return f"exec {busybox} httpd -f -p 127.0.0.1:$REWEB_APPLICATION_PORT -h {root}", b"httpd", "busybox httpd"
    return (f"exec {sys.executable} -S {BENCH_DIR / 'app.py'} --port $REWEB_APPLICATION_PORT", b"app.py",
            "python3 -S bench/app.py (no busybox here)")


def measure_round(runtime: Runtime, quick: bool, values: dict[str, dict[str, list[float]]],
                  problems: list[str]) -> None:
    def put(metric: str, value: float) -> None:
        values.setdefault(metric, {}).setdefault(runtime.key, []).append(value)

    # Init and idle memory, with an app that is ready at once.
    command, marker, _ = ready_app()
    port = free_port()
    with UnderRie(runtime, command.replace("$REWEB_APPLICATION_PORT", str(port)), port, marker) as run:
        _, payload = run.invoke(Case(response_size=0).event())
        init = run.init_ms()
        if init is None:
            problems.append(f"{runtime.label}: init failed under the RIE: {payload[:200]!r}")
            return  # a round with a broken runtime records nothing (the check in the suite sees rounds missing)
        put("init_ms", init)
        for _ in range(20):
            run.invoke(Case().event())
        time.sleep(0.2)
        pids = run.runtime_pids()
        rss = [status_kb(pid, "VmRSS") for pid in pids]
        if rss:
            put("idle_rss_mb", sum(rss) / 1024)
            put("idle_rss_main_mb", max(rss) / 1024)
            # RSS also counts the pages of the program's file it has mapped, which move with the page cache's
            # state (the same executable read in one write or in many: 6.5 or 11.6 MB of them, the same 5.5 MB of
            # its own memory): the private (anonymous) part is what the runtime itself holds.
            put("idle_anon_mb", sum(status_kb(pid, "RssAnon") for pid in pids) / 1024)
            put("processes", len(pids))

    # CPU per invocation, latency, the RIE's own CPU: the bench app, the same events for every runtime.
    port = free_port()
    with UnderRie(runtime, app_command(port), port, b"app.py") as run:
        for load in LOADS:
            event = load.case.event()
            n = load.quick if quick else load.full
            for _ in range(min(10, n)):
                _, payload = run.invoke(event)
            problem = check(load.case, payload)
            if problem:
                problems.append(f"{runtime.label}, {load.label}: {problem}")
                continue  # no figure from wrong answers
            pids = run.runtime_pids()
            cpu0, rie0, sw0 = tree_cpu(pids), tree_cpu([run.child.pid]), switches(pids)
            latencies = [run.invoke(event)[0] for _ in range(n)]
            cpu1, rie1, sw1 = tree_cpu(pids), tree_cpu([run.child.pid]), switches(pids)
            put(f"cpu_us_{load.key}", cpu_delta(cpu0, cpu1) / n * 1e6)
            put(f"rie_cpu_us_{load.key}", cpu_delta(rie0, rie1) / n * 1e6)
            put(f"p50_ms_{load.key}", percentile(latencies, 50) * 1e3)
            if load.key == "1k_text":
                put_switches(put, "", sw0, sw1, n)

    # The Nagle trap: an http.server app that writes headers and body in two sends.
    port = free_port()
    with UnderRie(runtime, app_command(port, "--nagle"), port, b"app.py") as run:
        event = Case().event()
        for _ in range(3):
            _, payload = run.invoke(event)
        problem = check(Case(), payload)
        if problem:
            problems.append(f"{runtime.label}, Nagle: {problem}")
        else:
            latencies = [run.invoke(event)[0] for _ in range(10 if quick else 30)]
            put("p50_ms_nagle", percentile(latencies, 50) * 1e3)

    # The bench's own driver: the same 1 KB case without the RIE (point 5 of issue 21).
    n = LOADS[0].quick if quick else LOADS[0].full
    event = LOADS[0].case.event()
    with Adapter(" ".join(runtime.argv)) as adapter:
        stats = adapter.measure(LOADS[0].case, n)  # back to back: the next event is queued before /next asks
        sw0 = switches([adapter.pid])
        adapter.invoke([event] * n)
        sw1 = switches([adapter.pid])
        # One event at a time, as the RIE's client sends them: the runtime waits in /next between invocations.
        serial = max(10, n // 4)
        pids = [adapter.pid, *children(adapter.pid)]
        pids = [pid for pid in pids if b"app.py" not in cmdline(pid)]
        cpu0, sw2 = tree_cpu(pids), switches(pids)
        for _ in range(serial):
            adapter.driver.run([event], timeout=10.0)
        cpu1, sw3 = tree_cpu(pids), switches(pids)
    if stats.errors:
        problems.append(f"{runtime.label}, own driver: {'; '.join(stats.errors)[:200]}")
    put("driver_cpu_us_1k_text", stats.cpu_us)
    put("driver_p50_ms_1k_text", stats.p50_ms)
    put_switches(put, "driver_", sw0, sw1, n)
    put("driver_serial_cpu_us_1k_text", cpu_delta(cpu0, cpu1) / serial * 1e6)
    put_switches(put, "driver_serial_", sw2, sw3, serial)


def _strace(pids: list[int], work: Callable[[], object], n: int) -> dict[str, float]:
    """System calls per invocation of the processes' threads while `work` runs n invocations (strace -c -f)."""
    out = Path(tempfile.mkstemp(prefix="sidebyside-strace-")[1])
    argv = ["strace", "-c", "-f", "-o", str(out)]
    for pid in pids:
        argv += ["-p", str(pid)]
    tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # strace attaches to every thread before the work starts
        work()
    finally:
        tracer.terminate()
        tracer.wait(10)
    counts: dict[str, float] = {}
    for line in out.read_text().splitlines():
        cells = line.split()
        if len(cells) in (5, 6) and cells[3].isdigit() and cells[-1] != "total":
            counts[cells[-1]] = int(cells[3]) / n
    out.unlink()
    return counts


def syscalls(runtime: Runtime, values: dict[str, dict[str, dict[str, float]]]) -> None:
    """The runtime's system calls per 1 KB invocation under the RIE and under the bench's driver (both patterns):
    the same calls mean the same work, and the CPU difference comes from elsewhere."""
    n, event = 200, LOADS[0].case.event()
    port = free_port()
    with UnderRie(runtime, app_command(port), port, b"app.py") as run:
        for _ in range(20):
            run.invoke(event)
        values.setdefault("rie", {})[runtime.key] = _strace(
            run.runtime_pids(), lambda: [run.invoke(event) for _ in range(n)], n)
    with Adapter(" ".join(runtime.argv)) as adapter:
        adapter.invoke([event] * 20)
        pids = [pid for pid in [adapter.pid, *children(adapter.pid)] if b"app.py" not in cmdline(pid)]
        values.setdefault("driver", {})[runtime.key] = _strace(pids, lambda: adapter.invoke([event] * n), n)
        values.setdefault("driver_serial", {})[runtime.key] = _strace(
            pids, lambda: [adapter.driver.run([event], timeout=10.0) for _ in range(n)], n)


def _callgrind_totals(out_dir: Path) -> int:
    totals = []
    for path in out_dir.glob("callgrind.out.*"):
        found = re.search(r"^(?:summary|totals): (\d+)", path.read_text(errors="replace"), re.M)
        if found:
            totals.append(int(found.group(1)))
    if not totals:
        raise RuntimeError("no totals in callgrind's output")
    return max(totals)  # the runtime's own process (reweb's lifeline does next to nothing)


def instructions(runtime: Runtime, n: int = 60) -> dict[str, float]:
    """Instructions per 1 KB invocation (valgrind's callgrind: N and 4N invocations, the difference over 3N) of the
    runtime under the RIE and under the bench's driver (bench/instructions.py): the same count means the same
    work, whatever the CPU time says."""
    from instructions import total_instructions

    event = LOADS[0].case.event()
    per: dict[str, float] = {}
    under_rie = []
    for count in (n, 4 * n):
        with tempfile.TemporaryDirectory() as tmp:
            argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.out.%p", *runtime.argv]
            port = free_port()
            traced = Runtime(runtime.key, runtime.label, argv, runtime.about)
            with UnderRie(traced, app_command(port), port, b"app.py") as run:
                for _ in range(20):
                    run.invoke(event)
                for _ in range(count):
                    run.invoke(event)
                # The RIE ends its runtime with SIGKILL, which leaves callgrind no time to write: stop the
                # runtime first, as Lambda's shutdown does, and wait for its files.
                main = min(run.runtime_pids())
                os.kill(main, signal.SIGTERM)
                deadline = time.monotonic() + 60
                while Path(f"/proc/{main}").exists() and cmdline(main) and time.monotonic() < deadline:
                    time.sleep(0.1)
            under_rie.append(_callgrind_totals(Path(tmp)))
    per["rie"] = (under_rie[1] - under_rie[0]) / (3 * n)
    command = " ".join(runtime.argv)
    per["driver"] = (total_instructions(command, 4 * n) - total_instructions(command, n)) / (3 * n)
    return per


def machine(load_before: float) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "python": platform.python_version(), "load_before": round(load_before, 2)}


def git_commit() -> str:
    head = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    return head or "?"


def run(rounds: int = 5, quick: bool = False, go_source: str | None = None, lambda_go: str | None = None,
        only: set[str] | None = None, trace: bool = True,
        command: str = "python3 bench/sidebyside.py") -> dict[str, Any]:
    """The interleaved rounds and the system-call counts; the result as recorded (see tools/perf_doc.py)."""
    found, notes = runtimes(go_source, lambda_go, only)
    for note in notes:
        print(note, file=sys.stderr)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    values: dict[str, dict[str, list[float]]] = {}
    problems: list[str] = []
    loads: list[float] = [load_before]
    for runtime in found:  # one untimed start each: bytecode and page caches filled before round 1
        app, marker, _ = ready_app()
        port = free_port()
        with UnderRie(runtime, app.replace("$REWEB_APPLICATION_PORT", str(port)), port, marker) as under:
            under.invoke(Case(response_size=0).event())
    for number in range(rounds):
        order = found[number % len(found):] + found[:number % len(found)]
        for runtime in order:
            print(f"round {number + 1}/{rounds}: {runtime.label}", flush=True)
            try:
                measure_round(runtime, quick, values, problems)
            except (RuntimeError, OSError) as exc:  # one failed start must not lose the other rounds
                problems.append(f"{runtime.label}, round {number + 1}: {type(exc).__name__}: {exc}")
            loads.append(os.getloadavg()[0])
    traced: dict[str, dict[str, dict[str, float]]] = {}
    if trace and shutil.which("strace"):
        for runtime in found:
            print(f"system calls: {runtime.label}", flush=True)
            try:
                syscalls(runtime, traced)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                problems.append(f"{runtime.label}, system calls: {type(exc).__name__}: {exc}")
    counted: dict[str, dict[str, float]] = {}
    if trace and shutil.which("valgrind"):
        for runtime in found:
            if runtime.key == "reweb-go":
                continue  # Go's runtime under valgrind is not worth the wait: its system calls tell enough
            print(f"instructions (callgrind): {runtime.label}", flush=True)
            try:
                counted[runtime.key] = instructions(runtime, 20 if quick else 60)
            except (RuntimeError, OSError, subprocess.SubprocessError, AssertionError) as exc:
                problems.append(f"{runtime.label}, instructions: {type(exc).__name__}: {exc}")
    about = machine(load_before)
    about["load_during"] = [round(x, 2) for x in loads]
    about["load_after"] = round(os.getloadavg()[0], 2)
    return {
        "when": when, "commit": git_commit(), "command": command,
        "seconds": round(time.monotonic() - started), "rounds": rounds, "quick": quick,
        "rie": f"aws-lambda-rie-x86_64 from aws-sam-cli {RIE_VERSION}", "init_app": ready_app()[2],
        "machine": about, "runtimes": {r.key: dict(r.about, label=r.label) for r in found},
        "counts": {load.key: load.quick if quick else load.full for load in LOADS},
        "values": values, "syscalls": traced, "instructions": counted, "problems": problems, "not_measured": notes,
    }


def show(result: dict[str, Any]) -> None:
    sys.path.insert(0, str(REPO_DIR))
    from tools.perf_doc import render_perf

    print()
    print(render_perf(result))
    if result["problems"]:
        print("\nPROBLEMS:\n" + "\n".join(result["problems"]))
    print(f"({result['seconds']} s)")


def record(result: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"recorded in {RESULTS.relative_to(REPO_DIR)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="fewer invocations per round")
    parser.add_argument("--record", action="store_true",
                        help=f"write {RESULTS.relative_to(REPO_DIR)} and regenerate the docs from it")
    parser.add_argument("--go-source", help="re:Web's checkout or git directory (default: $REWEB_GO_SOURCE)")
    parser.add_argument("--lambda-go-source", help="aws-lambda-go v1.23.0's checkout or git directory (default: "
                        "$REWEB_LAMBDA_GO_SOURCE)")
    parser.add_argument("--no-strace", action="store_true", help="skip counting system calls (strace -c)")
    parser.add_argument("--only", help="comma-separated runtimes: reweb-go, pip, exe (default: all)")
    args = parser.parse_args(argv)
    command = "python3 bench/sidebyside.py" + (f" --rounds {args.rounds}" if args.rounds != 5 else "") + (
        " --quick" if args.quick else "")
    result = run(args.rounds, args.quick, args.go_source, args.lambda_go_source,
                 {s.strip() for s in args.only.split(",")} if args.only else None, not args.no_strace, command)
    if not result["runtimes"]:
        return 2
    result["recorded"] = args.record  # the table's header says "Recorded by ... --record" only then
    show(result)
    if args.record:
        record(result)
        from tools.perf_doc import main as write_docs

        write_docs(["--write"])
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
