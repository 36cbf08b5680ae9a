"""One adapter under test: the driver, the adapter process (reweb or the fake), its app child, and the
measurement of a case through it (latency from the driver, CPU from /proc) and straight to the app."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from client import DirectClient
from common import BENCH_DIR, CACHE_DIR, REPO_DIR, Child, cpu_ns, cpu_seconds, free_port, keep_recent, percentile
from driver import Batch, RuntimeDriver
from events import Case, decode_response

LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_REGION": "us-east-1",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
    "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
}


def checkout(rev: str) -> Path:
    """reweb's source at a commit, extracted once under bench/.cache/ (the work tree is not touched)."""
    sha = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "--short", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    dest = CACHE_DIR / f"src-{sha}"
    if not (dest / "src" / "reweb").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO_DIR), "archive", sha, "src/reweb"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    keep_recent(dest)
    return dest / "src"


def adapter_argv(name: str) -> list[str]:
    """reweb (the installed console script), reweb@REV (that commit's source), fake, lean, or a command line."""
    if name.startswith("reweb@"):
        src = checkout(name[len("reweb@"):])
        return [sys.executable, "-c",
                f"import sys; sys.path.insert(0, {str(src)!r}); from reweb.cli import main; sys.exit(main())"]
    if name in ("fake", "lean"):
        return [sys.executable, str(BENCH_DIR / f"{name}_adapter.py")]
    if name == "reweb":
        # The console script next to this interpreter (a pyenv shim on PATH would add a shell to every start).
        script = Path(sys.executable).with_name("reweb")
        found = str(script) if script.exists() else shutil.which("reweb")
        return [found] if found else [sys.executable, "-m", "reweb"]
    return name.split()


def app_command(port: int, *extra: str) -> str:
    return " ".join(["exec", sys.executable, str(BENCH_DIR / "app.py"), "--port", str(port), *extra])


@dataclass
class Stats:
    n: int
    p50_ms: float
    p99_ms: float
    cpu_us: float = float("nan")  # adapter CPU per invocation
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, latencies: list[float], cpu_s: float = float("nan"), errors: list[str] | None = None) -> Stats:
        n = len(latencies)
        return cls(n, percentile(latencies, 50) * 1e3, percentile(latencies, 99) * 1e3,
                   cpu_s / n * 1e6 if n else float("nan"), errors or [])


class Adapter:
    """The adapter process fed by our driver; started on enter, stopped (with its app) on exit."""

    def __init__(self, adapter: str, app_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 workers: int = 1, start_timeout: float = 20.0, quiet: bool = True) -> None:
        self.driver = RuntimeDriver()
        self.app_port = free_port()
        self.workers = workers
        full_env = dict(LAMBDA_ENV)
        full_env.update({
            "AWS_LAMBDA_RUNTIME_API": self.driver.address,
            "REWEB_APPLICATION_EXEC": app_command(self.app_port, *app_args),
            "REWEB_APPLICATION_PORT": str(self.app_port),
        })
        if workers > 1:
            full_env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(workers)
        full_env.update(env or {})
        self.child = Child(adapter_argv(adapter), full_env, quiet=quiet)
        self.pid = self.child.pid
        if not self.driver.wait_first_next(start_timeout):
            self.close()
            raise RuntimeError(f"{adapter} did not call /next within {start_timeout} s")
        self.driver.wait_idle(workers, 5.0)

    def close(self) -> None:
        self.child.stop()
        self.driver.close()

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cpu(self) -> tuple[float, int]:
        return cpu_seconds(self.pid), cpu_ns(self.pid)

    def invoke(self, payloads: list[bytes], timeout: float = 120.0) -> tuple[Batch, float]:
        """Run the invocations; return the batch and the adapter's CPU seconds spent on it."""
        stat0, ns0 = self.cpu()
        batch = self.driver.run(payloads, timeout=timeout, workers=self.workers)
        stat1, ns1 = self.cpu()
        by_stat, by_sched = stat1 - stat0, (ns1 - ns0) / 1e9
        # schedstat is exact but misses threads that ended in between; then trust the tick counts.
        cpu = by_sched if by_sched >= by_stat - 0.02 else by_stat
        return batch, cpu

    def measure(self, case: Case, n: int, warmup: int = 20, timeout: float = 120.0) -> Stats:
        payload = case.event()
        self.invoke([payload] * warmup, timeout)
        batch, cpu = self.invoke([payload] * n, timeout)
        return Stats.of(batch.latencies(), cpu, check(case, batch))


def check(case: Case, batch: Batch) -> list[str]:
    """Problems seen in a batch: errors reported, responses missing, or a first response that is wrong."""
    problems = [f"invocation {i}: error {body[:200]!r}" for i, body in sorted(batch.errors.items())[:3]]
    missing = sum(1 for d in batch.done if not d)
    if missing:
        problems.append(f"{missing} invocations got no response in time")
    for index, payload in sorted(batch.bodies.items())[:1]:
        if case.stream:
            if batch.sizes[index] != case.response_size:
                problems.append(f"streamed {batch.sizes[index]} bytes, expected {case.response_size}")
            continue
        if case.kind == "sqs":  # non-HTTP: the app's answer comes back as it is
            if len(payload) != case.expected_size:
                problems.append(f"pass-through answer has {len(payload)} bytes, expected {case.expected_size}")
            continue
        try:
            status, body = decode_response(payload)
        except ValueError as exc:
            problems.append(f"response is not JSON: {exc}: {payload[:120]!r}")
            continue
        if status != 200 or len(body) != case.response_size:
            problems.append(f"got status {status} with {len(body)} body bytes, expected 200 with "
                            f"{case.response_size}: {payload[:160]!r}")
    return problems


def measure_direct(port: int, case: Case, n: int, warmup: int = 20) -> Stats:
    parts = case.direct_request()
    with DirectClient(port) as client:
        for _ in range(warmup):
            client.request(parts)
        timings = [client.request(parts) for _ in range(n)]
    errors = [] if timings[0].size == case.response_size else [f"direct got {timings[0].size} bytes"]
    return Stats.of([t.latency for t in timings], errors=errors)
