"""Load test: WordPress (and a lighter app) under `reweb local --concurrency N`, driven by wrk; markdown tables.

    python3 bench/load_test.py            # WordPress, Datasette, bench/app.py; concurrency 1, 4, 8; 30 s each
    python3 bench/load_test.py --apps wordpress --concurrency 1,4 --duration 20 --max-requests 5000
    python3 bench/load_test.py --apps static --concurrency 2    # bench/app.py: reweb and the emulator alone

Needs root (network namespaces, setpriv) and the apps' kit (`bash tests/apps/install.sh`, kit in /opt/reweb-apps);
wrk is apt-get installed when missing (ab from apache2-utils is used when wrk cannot be had). Everything listens on
127.0.0.1 or on unix sockets under /tmp/reweb-bench-load; each run is bounded by --duration and --max-requests.

What it starts, and stops again, each process by its id:
  * its own MariaDB (as `nobody`, unix socket /tmp/reweb-bench-load/mysql/mysqld.sock, no TCP port at all: it never
    meets the suite's 33069 or 54329). A unix socket works across network namespaces (the filesystem is shared), so
    WordPress reaches it from isolated instances;
  * WordPress as tests/apps/install.sh installs it (Debian's package, the kit's Apache config), each instance with
    its own run directory (Apache's pid/mutex/logs, a copy of wp-content) since instances share /tmp here, and
    DB_HOST = 'localhost:<socket>' (set by a PHP auto_prepend file: the kit's config says 127.0.0.1:33069);
  * `python3 -m reweb local --network isolated --concurrency N` per run, on a free 127.0.0.1 port;
  * wrk with N connections (--connections) for --duration seconds or --max-requests requests, whichever is first.

The apps run as `nobody` rather than the suite's `reweb-app`, so that a test suite running at the same time does
not find (and kill) them as stray processes of its user.

Collected per run: requests/s and latency p50/p99 at the client (wrk), and from reweb local's REPORT lines: Duration
p50/p99, cold starts (Init Duration), Max Memory Used, billed GB-seconds and the Lambda cost per million requests
(the same prices as reweb local: x86_64, us-east-1, $0.20 per 1M requests + $0.0000166667 per GB-second, AWS public
price list as of 2026-11, check aws.amazon.com/lambda/pricing), cross-checked against the summary reweb local prints
when stopped. Then the monthly price of always-on VMs/containers and the break-even request rate.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "apps"))

from appkit import KIT, Client, Running, as_user, fresh_dir, port_open, reweb_command, user_ids, wait_until
from common import CLK_TCK, bytecode_env, children

from reweb.local.dashboard import GB_SECOND_TEXT, PRICE_PER_GB_SECOND, PRICE_PER_REQUEST, PRICES_AS_OF
from reweb.local.ports import free_port

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = Path("/tmp/reweb-bench-load")
USER = "nobody"  # not the suite's reweb-app: see the module's docstring
MYSQL_DIR = WORK / "mysql"
SOCKET = MYSQL_DIR / "mysqld.sock"
WP_DIR = WORK / "wp"
LOGS = WORK / "logs"
RECORDING = BENCH / "results" / "load_test.json"  # --record: docs/load-test.md's source (tools/load_doc.py)
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# Always-on alternatives: public on-demand prices, us-east-1, as of 2026-11, to be checked (aws.amazon.com/ec2/pricing,
# aws.amazon.com/fargate/pricing). Linux, no reservation or savings plan, no storage or data transfer.
FARGATE_VCPU_HOUR = 0.04048
FARGATE_GB_HOUR = 0.004445
ALWAYS_ON: list[tuple[str, float]] = [
    ("EC2 t4g.micro (2 vCPU burstable, 1 GiB, arm64)", 0.0084),
    ("EC2 t3.micro (2 vCPU burstable, 1 GiB)", 0.0104),
    ("EC2 t3.small (2 vCPU burstable, 2 GiB)", 0.0208),
    ("Fargate 0.5 vCPU + 1 GB", 0.5 * FARGATE_VCPU_HOUR + 1 * FARGATE_GB_HOUR),
    ("Fargate 1 vCPU + 2 GB", 1 * FARGATE_VCPU_HOUR + 2 * FARGATE_GB_HOUR),
]

REPORT_RE = re.compile(
    r"^REPORT RequestId: \S+\tDuration: ([0-9.]+) ms\tBilled Duration: (\d+) ms\tMemory Size: (\d+) MB\t"
    r"Max Memory Used: (\d+) MB(?:\tInit Duration: ([0-9.]+) ms)?(.*)$"
)


def log(msg: str) -> None:
    print(f"[load-test {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------------------- apps
@dataclass
class App:
    name: str
    path: str  # what the load generator requests
    wait_path: str  # REWEB_WAIT_PATH
    expect: str  # a string the page must contain (checked once before the load)
    port: int  # the app's port inside each instance


def wordpress_files() -> None:
    """The kit's Apache config with a run directory per instance, the start script, the PHP prepend file."""
    conf = (KIT / "wordpress" / "httpd.conf").read_text()
    conf = conf.replace("/tmp/apache-wp", "${BENCH_WP_DIR}/apache")
    conf = conf.replace("/tmp/wp-content", "${BENCH_WP_DIR}/wp-content")
    conf += (
        "# reweb bench: DB_HOST is MariaDB's unix socket (reachable from every network namespace)\n"
        "php_admin_value auto_prepend_file ${BENCH_WP_DIR}/prepend.php\n"
    )
    (WP_DIR / "httpd.conf").write_text(conf)
    # The kit's start.sh, with the instance's own directory: instances share this machine's /tmp (on Lambda each
    # has its own), so the kit's fixed /tmp/apache-wp and /tmp/wp-content would be clobbered by the next cold start.
    (WP_DIR / "start.sh").write_text(f"""#!/bin/bash
set -eu
export WP_PORT=${{WP_PORT:-8003}}
export BENCH_WP_DIR=$(mktemp -d {WP_DIR}/i-XXXXXX)
mkdir -p "$BENCH_WP_DIR/apache"
cp -r /var/lib/wordpress/wp-content "$BENCH_WP_DIR/wp-content"
cat > "$BENCH_WP_DIR/prepend.php" <<PHP
<?php
// Defined before /etc/wordpress/config-default.php, whose own define()s of these then fail: those warnings only
// are silenced here (every other error goes on as usual).
define('DB_HOST', 'localhost:{SOCKET}');
define('WP_CONTENT_DIR', '$BENCH_WP_DIR/wp-content');
set_error_handler(static fn (int \\$no, string \\$msg): bool => \\$no === E_WARNING
    && preg_match('/^Constant (DB_HOST|WP_CONTENT_DIR) already defined/', \\$msg) === 1);
PHP
exec apache2 -f {WP_DIR}/httpd.conf -DFOREGROUND
""")
    os.chmod(WP_DIR / "start.sh", 0o755)


APPS = {
    "wordpress": App("wordpress", "/", "/wp-login.php", "Hello world!", 8003),
    "datasette": App("datasette", "/demo/st~C3~A4dte", "/-/versions.json", "München", 8080),
    "static": App("static", "/?resp=2048", "/", "", 8080),
}


def app_command(app: App, port: int) -> tuple[list[str], dict[str, str]]:
    """argv and environment of the app (run as USER inside each instance)."""
    if app.name == "wordpress":
        return [str(WP_DIR / "start.sh")], {"WP_PORT": str(port)}
    if app.name == "datasette":
        # Immutable (-i): only read, so concurrent instances never contend for the file.
        return [str(KIT / "py/datasette/bin/datasette"), "serve", "-i", str(WORK / "demo.db"), "-h", "127.0.0.1",
                "-p", str(port)], {"HOME": str(WORK / "home")}
    # bench/app.py: a trivial app that answers from a cache (what reweb and the emulator cost on their own).
    return ["/usr/bin/python3", str(WORK / "static" / "app.py"), "--port", str(port)], {"PYTHONDONTWRITEBYTECODE": "1"}


# ---------------------------------------------------------------------------------------------------------- MariaDB
def mysql(sql: str) -> str:
    p = subprocess.run(["mariadb", "--no-defaults", f"--socket={SOCKET}", "-uroot", "-Nse", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode:
        raise RuntimeError(f"mariadb {sql!r}: {p.stderr}")
    return p.stdout


@contextlib.contextmanager
def mariadb() -> Iterator[None]:
    """MariaDB as `nobody`, data and socket under WORK/mysql, no TCP (--skip-networking)."""
    d = fresh_dir(MYSQL_DIR, USER)
    p = subprocess.run(as_user(["mariadb-install-db", "--no-defaults", f"--datadir={d}/data",
                                "--auth-root-authentication-method=normal", "--skip-test-db"], USER),
                       capture_output=True, text=True, timeout=120, cwd="/tmp")
    if p.returncode:
        raise RuntimeError(f"mariadb-install-db: {p.stdout} {p.stderr}")
    argv = ["mariadbd", "--no-defaults", f"--datadir={d}/data", f"--socket={SOCKET}", "--skip-networking",
            f"--pid-file={d}/mariadb.pid", f"--tmpdir={d}", f"--log-error={d}/error.log", "--skip-log-bin",
            "--innodb-buffer-pool-size=64M", "--max-connections=200"]
    with open(LOGS / "mariadb.out", "wb") as out:
        proc = subprocess.Popen(as_user(argv, USER), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ok = wait_until(lambda: proc.poll() is not None or subprocess.run(
            ["mariadb-admin", "--no-defaults", f"--socket={SOCKET}", "-uroot", "ping"], capture_output=True,
            timeout=10).returncode == 0, 60, 0.1)
        if not ok or proc.poll() is not None:
            raise RuntimeError(f"mariadb did not start: {(d / 'error.log').read_text()[-2000:]}")
        DB_PIDS[:] = [proc.pid]
        log(f"MariaDB up (pid {proc.pid}, socket {SOCKET}, no TCP port)")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ------------------------------------------------------------------------------------------------------ reweb local
@dataclass
class Lambda:
    """One `reweb local` with its app."""

    app: App
    concurrency: int
    args: argparse.Namespace
    port: int = field(default_factory=free_port)
    proc: Running | None = None
    command: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, tag: str) -> None:
        app_port = self.app.port if self.args.network == "isolated" else free_port()
        argv, app_env = app_command(self.app, app_port)
        env = dict(os.environ)
        env.update(bytecode_env())  # reweb's own modules from cached bytecode, as in a built image
        env.update({"REWEB_APPLICATION_PORT": str(app_port), "REWEB_WAIT_PATH": self.app.wait_path,
                    "REWEB_WAIT_CODE": "200-399"})
        if self.args.runtime:  # reweb local runs in /tmp: a relative path is made absolute first
            words = shlex.split(self.args.runtime)
            words[0] = str(Path(words[0]).resolve()) if Path(words[0]).exists() else words[0]
            env["REWEB_LOCAL_RUNTIME"] = shlex.join(words)
        cmd = [*reweb_command(), "local", "--port", str(self.port), "--source", self.args.source,
               "--network", self.args.network, "--concurrency", str(self.concurrency),
               "--memory", str(self.args.memory), *([] if self.args.freeze else ["--no-freeze"]),
               "--", *as_user(argv, USER, app_env)]
        self.command = cmd
        self.proc = Running(cmd, LOGS / f"{tag}.log", env=env, cwd="/tmp")
        if not wait_until(lambda: port_open(self.port) or not self.proc.alive(), 30):  # type: ignore[union-attr]
            raise RuntimeError(f"reweb local did not open {self.port}: {self.proc.tail()}")
        if not self.proc.alive():
            raise RuntimeError(f"reweb local exited: {self.proc.tail()}")

    def get(self, path: str, timeout: float = 60) -> tuple[int, str]:
        r = Client(self.base, timeout=timeout).request("GET", path, cookies=False)
        return r.status, r.text()

    def settle(self, timeout: float = 65) -> None:
        """Wait for the invocations still running (requests the load generator gave up at its deadline): every
        START has its REPORT. Lambda bills them too, and stopping now would count them as failed."""
        assert self.proc is not None
        seen: list[int] = []

        def done() -> bool:  # as many REPORTs as STARTs, and no new START for 0.5 s (a request still arriving)
            text = self.proc.log.read_text("utf-8", "replace")  # type: ignore[union-attr]
            starts = text.count("\nSTART RequestId: ")
            seen.append(starts if starts == text.count("\nREPORT RequestId: ") else -1)
            return len(seen) >= 5 and len(set(seen[-5:])) == 1 and seen[-1] >= 0

        wait_until(done, timeout, 0.1)

    def tail(self) -> str:
        return self.proc.tail() if self.proc else ""

    def stop(self) -> str:
        assert self.proc is not None
        self.proc.stop(timeout=30)  # SIGTERM: reweb local stops every instance and prints its summary
        text = self.proc.log.read_text("utf-8", "replace")
        leftovers()
        return text


def leftovers() -> None:
    """Kill what is left of this script's process trees (found by WORK in their command line), each by pid."""
    spared = {os.getpid()}  # this script and whatever started it (its command line may name WORK too)
    pid = os.getppid()
    while pid > 1 and pid not in spared:
        spared.add(pid)
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = Path(f"/proc/{pid}/stat").read_text()
            pid = int(text[text.rindex(")") + 2:].split()[1])
            continue
        break
    mine = str(WORK).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes()
            if mine in cmd and b"mariadbd" not in cmd:
                shown = cmd.replace(b"\0", b" ")[:120].decode("utf-8", "replace")
                log(f"killing leftover pid {entry.name}: {shown}")
                os.kill(int(entry.name), signal.SIGKILL)


# ------------------------------------------------------------------------------------------------------- load tools
WRK_LUA = """
-- Stops each thread after its share of --max-requests; prints exact figures as JSON. When the limit ends the run,
-- wrk itself still waits out -d, so the thread's own clock (clock_gettime through LuaJIT's ffi) gives the time.
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } bench_ts; int clock_gettime(int, bench_ts *); ]]
local function now_us()
  local t = ffi.new("bench_ts")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) * 1000000 + tonumber(t.tv_nsec) / 1000
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
limit, count, started, elapsed = 0, 0, 0, 0
function init(args) limit = tonumber(args[1]) or 0; started = now_us() end
function response(status, headers, body)
  count = count + 1
  if limit > 0 and count >= limit then elapsed = now_us() - started; wrk.thread:stop() end
end
function done(summary, latency, requests)
  local e, duration = summary.errors, summary.duration
  for _, t in ipairs(threads) do
    local took = t:get("elapsed")
    if took and took > 0 and took < duration then duration = took end
  end
  io.write(string.format('BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, '
    .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, '
    .. '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n', summary.requests, duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def load_tool(prefer: str) -> str:
    """wrk (apt-get installed when missing), else ab."""
    if prefer == "wrk" and not shutil.which("wrk"):
        log("wrk missing: apt-get install wrk")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, timeout=300)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, timeout=300)
    if prefer == "wrk" and shutil.which("wrk"):
        return "wrk"
    if not shutil.which("ab"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "apache2-utils"], capture_output=True, timeout=300)
    if not shutil.which("ab"):
        raise SystemExit("neither wrk nor ab (apache2-utils) could be installed")
    return "ab"


def run_load(tool: str, url: str, connections: int, seconds: int, max_requests: int) -> tuple[dict[str, float], str]:
    """Drive `url`; the figures (requests, seconds, p50/p99 in ms, errors) and the tool's command line."""
    if tool == "wrk":
        script = WORK / "limit.lua"
        script.write_text(WRK_LUA)
        # One wrk thread: the client's own CPU stays small beside the emulator's on this 2-core machine.
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", str(script), url, "--",
               str(max_requests)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        m = re.search(r"^BENCH_JSON (.*)$", p.stdout, re.M)
        if not m:
            raise RuntimeError(f"wrk: {p.stdout} {p.stderr}")
        d = json.loads(m.group(1))
        res = {"requests": d["requests"], "seconds": d["duration_us"] / 1e6, "p50_ms": d["p50_us"] / 1000,
               "p90_ms": d["p90_us"] / 1000, "p99_ms": d["p99_us"] / 1000, "max_ms": d["max_us"] / 1000,
               "errors": d["connect_errors"] + d["read_errors"] + d["write_errors"] + d["timeouts"],
               "non_2xx_3xx": d["status_errors"], "bytes": d["bytes"]}
        shown = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", "limit.lua", url, "--",
                 str(max_requests)]
        return res, " ".join(shown)
    cmd = ["ab", "-q", "-k", "-t", str(seconds), "-n", str(max_requests), "-c", str(connections), "-s", "60", url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    out = p.stdout

    def num(pattern: str) -> float:
        m = re.search(pattern, out, re.M)
        return float(m.group(1)) if m else 0.0

    res = {"requests": num(r"^Complete requests:\s+(\d+)"), "seconds": num(r"^Time taken for tests:\s+([0-9.]+)"),
           "p50_ms": num(r"^\s+50%\s+(\d+)"), "p90_ms": num(r"^\s+90%\s+(\d+)"), "p99_ms": num(r"^\s+99%\s+(\d+)"),
           "max_ms": num(r"^\s+100%\s+(\d+)"),
           # ab's "Failed requests" also counts bodies whose length differs from the first one (dynamic pages)
           "errors": sum(float(x) for x in re.findall(r"(?:Connect|Receive|Exceptions): (\d+)", out)),
           "non_2xx_3xx": num(r"^Non-2xx responses:\s+(\d+)"), "bytes": num(r"^Total transferred:\s+(\d+)")}
    if not res["requests"]:
        raise RuntimeError(f"ab: {out} {p.stderr}")
    return res, " ".join(cmd)


# ------------------------------------------------------------------------------------------------------- the figures
def nearest_rank(values: list[float], q: float) -> float:
    """As reweb local's summary: the smallest value with at least q% of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Result:
    app: str
    concurrency: int
    connections: int
    memory_mb: int
    client: dict[str, float]
    rps: float
    invocations: int
    cold_starts: int
    init_ms: list[float]
    duration_p50_ms: float
    duration_p99_ms: float
    max_memory_mb: int
    billed_ms: int
    gb_seconds: float
    cost: float
    cost_per_million: float
    warm_cost_per_million: float
    summary_cost_per_million: str
    lambda_errors: int
    loadavg_before: float
    loadavg_after: tuple[float, float, float]
    cpu_busy_pct: float  # of all cores, during the load
    own_cpu_pct: float  # of all cores: this run's processes (the rest of the busy time is someone else's)
    cpu_ms_per_request: float  # this run's CPU time (the whole chain, load generator included) per request
    load_command: str
    reweb_command: str
    instances_started: int = 0  # reweb local's summary: every instance it started (one per cold start)
    throttles: int = 0  # requests refused past --concurrency (the front door's throttle answer; not invoked)
    round: int = 1  # which of --rounds
    started: str = ""  # UTC, when the load began
    commit: str = ""  # the checkout's HEAD when the run began (reweb local is started afresh for every run)


def parse_reports(text: str, memory_mb: int) -> dict[str, object]:
    durations: list[float] = []
    warm_billed: list[int] = []
    inits: list[float] = []
    billed = 0
    max_mem = 0
    errors = 0
    for line in text.splitlines():
        m = REPORT_RE.match(line)
        if not m:
            continue
        durations.append(float(m.group(1)))
        billed += int(m.group(2))
        max_mem = max(max_mem, int(m.group(4)))
        if m.group(5):
            inits.append(float(m.group(5)))
        else:
            warm_billed.append(int(m.group(2)))
        if "Status:" in (m.group(6) or ""):
            errors += 1
    n = len(durations)
    gb_s = billed / 1000 * memory_mb / 1024
    cost = n * PRICE_PER_REQUEST + gb_s * PRICE_PER_GB_SECOND
    warm = (PRICE_PER_REQUEST + (sum(warm_billed) / len(warm_billed)) / 1000 * memory_mb / 1024 * PRICE_PER_GB_SECOND
            if warm_billed else float("nan"))
    summary = re.search(r"estimated cost per million requests like these: (\$[0-9.,]+)", text)
    scaled = re.search(r"(\d+) instances? started, (\d+) requests? throttled", text)
    return {"invocations": n, "cold_starts": len(inits), "init_ms": inits,
            "duration_p50_ms": nearest_rank(durations, 50), "duration_p99_ms": nearest_rank(durations, 99),
            "max_memory_mb": max_mem, "billed_ms": billed, "gb_seconds": gb_s, "cost": cost,
            "cost_per_million": cost / n * 1e6 if n else float("nan"), "warm_cost_per_million": warm * 1e6,
            "summary_cost_per_million": summary.group(1) if summary else "-", "lambda_errors": errors,
            "instances_started": int(scaled.group(1)) if scaled else 0,
            "throttles": int(scaled.group(2)) if scaled else 0}


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return total - idle, total


DB_PIDS: list[int] = []  # the MariaDB server, while it runs


def tree_ticks(roots: list[int]) -> dict[int, int]:
    """CPU ticks (utime+stime, and those of reaped children) of each live process in the trees of `roots`."""
    out: dict[int, int] = {}
    for pid in {p for r in roots for p in (r, *children(r))}:
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = Path(f"/proc/{pid}/stat").read_text()
            f = text[text.rindex(")") + 2:].split()
            out[pid] = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return out


def wait_idle(limit: float) -> float:
    """Wait up to `limit` seconds for a quiet machine (under 15% busy over 3 s); the last busy % seen."""
    start = time.monotonic()
    said = False
    while True:
        b0, t0 = cpu_times()
        time.sleep(3)
        b1, t1 = cpu_times()
        busy = 100 * (b1 - b0) / max(1, t1 - t0)
        waited = time.monotonic() - start
        if busy < 15 or waited >= limit:
            if said:
                log(f"machine {busy:.0f}% busy after {waited:.0f} s of waiting")
            return busy
        if not said:
            log(f"machine {busy:.0f}% busy (someone else's work): waiting up to {limit:.0f} s for it to calm down")
            said = True


def loadavg() -> tuple[float, float, float]:
    a, b, c = Path("/proc/loadavg").read_text().split()[:3]
    return float(a), float(b), float(c)


# ---------------------------------------------------------------------------------------------------------- the runs
def clean_instances() -> None:
    """Remove the instances' run directories (on Lambda, /tmp goes with the instance)."""
    for d in WP_DIR.glob("i-*"):
        shutil.rmtree(d, ignore_errors=True)


def install_wordpress(args: argparse.Namespace) -> None:
    """A fresh database, then WordPress's installer through the public URL (it takes its site URL from there)."""
    mysql("DROP DATABASE IF EXISTS wordpress; CREATE DATABASE wordpress CHARACTER SET utf8mb4;"
          "CREATE USER IF NOT EXISTS 'wp'@'localhost' IDENTIFIED BY 'wp';"
          "GRANT ALL ON wordpress.* TO 'wp'@'localhost';")
    lam = Lambda(APPS["wordpress"], 1, args)
    lam.start("wordpress-install")
    try:
        c = Client(lam.base, timeout=120)
        r = c.post_form("/wp-admin/install.php?step=2", [
            ("weblog_title", "reweb load test"), ("user_name", "admin"), ("admin_password", "s3cret-Pass-123"),
            ("admin_password2", "s3cret-Pass-123"), ("pw_weak", "1"), ("admin_email", "admin@example.com"),
            ("blog_public", "0"),
        ])
        if r.status != 200 or "<h1>Success!</h1>" not in r.text():
            raise RuntimeError(f"WordPress install failed: {r!r} {r.text()[:1000]}\n{lam.tail()}")
    finally:
        lam.stop()
        clean_instances()
    log("WordPress installed (database on the unix socket)")


def one_run(app: App, n: int, args: argparse.Namespace, tool: str, round_no: int = 1) -> Result:
    conns = args.connections or n
    lam = Lambda(app, n, args)
    tag = f"{app.name}-c{n}-r{round_no}"
    if app.name == "wordpress":  # the site URL is the front door's, which changes with each run's port
        mysql(f"UPDATE wordpress.wp_options SET option_value='{lam.base}' WHERE option_name IN ('siteurl','home')")
    before = loadavg()[0]
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    stopped = False
    try:
        lam.start(tag)
        status, body = lam.get(app.path)  # the first invocation: a cold start, counted with the rest
        if status != 200 or app.expect not in body:
            raise RuntimeError(f"{app.name}: GET {app.path} -> {status} {body[:500]!r}\n{lam.tail()}")
        log(f"{tag}: {conns} connections for {args.duration} s or {args.max_requests} requests ({tool})")
        roots = [lam.proc.proc.pid, *DB_PIDS]  # type: ignore[union-attr]
        own0, kids0 = tree_ticks(roots), resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0, total0, wall0 = *cpu_times(), time.monotonic()
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        client, load_cmd = run_load(tool, lam.base + app.path, conns, args.duration, args.max_requests)
        busy1, total1, wall = *cpu_times(), time.monotonic() - wall0
        own1, kids1 = tree_ticks(roots), resource.getrusage(resource.RUSAGE_CHILDREN)
        # This run's CPU: reweb local, its instances and apps, MariaDB, and the load generator (a waited child).
        own_s = sum(t - own0.get(p, 0) for p, t in own1.items()) / CLK_TCK
        own_s += (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
        after = loadavg()
        lam.settle()
        text = lam.stop()
        stopped = True
    finally:
        if not stopped and lam.proc is not None:
            lam.stop()
        clean_instances()
    rep = parse_reports(text, args.memory)
    rps = client["requests"] / client["seconds"] if client["seconds"] else float("nan")
    res = Result(app=app.name, concurrency=n, connections=conns, memory_mb=args.memory, client=client, rps=rps,
                 loadavg_before=before, loadavg_after=after,
                 cpu_busy_pct=100 * (busy1 - busy0) / max(1, total1 - total0),
                 own_cpu_pct=100 * own_s / (wall * (os.cpu_count() or 1)),
                 cpu_ms_per_request=1000 * own_s / max(1, client["requests"]), load_command=load_cmd,
                 reweb_command=" ".join(lam.command), round=round_no, started=started, commit=commit,
                 **rep)  # type: ignore[arg-type]
    log(f"{tag}: {res.client['requests']:.0f} requests, {rps:.1f}/s, p50 {client['p50_ms']:.1f} ms, "
        f"p99 {client['p99_ms']:.1f} ms, {res.cold_starts} cold starts, ${res.cost_per_million:.2f} per 1M "
        f"(summary {res.summary_cost_per_million}), {res.throttles} throttled, load {after[0]:.2f}")
    return res


def ms(v: float) -> str:
    return "-" if math.isnan(v) else (f"{v:.0f}" if v >= 100 else f"{v:.1f}")


def money(v: float) -> str:
    return "-" if math.isnan(v) else f"${v:.2f}"


def tables(results: list[Result]) -> str:
    out = ["| app | concurrency (connections) | requests | req/s | client p50 / p99 ms | Duration p50 / p99 ms | "
           "cold starts: Init ms | max memory used | billed GB-s | $ per 1M (all) | $ per 1M (warm) | errors | "
           "CPU ms per request | CPU busy (this run's) / 1-min load (before → end) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        inits = f"{r.cold_starts}: {min(r.init_ms):.0f}-{max(r.init_ms):.0f}" if r.init_ms else "0"
        errs = int(r.client["errors"] + r.client["non_2xx_3xx"]) + r.lambda_errors
        out.append(
            f"| {r.app} | {r.concurrency} ({r.connections}) | {r.client['requests']:.0f} | {r.rps:.1f} | "
            f"{ms(r.client['p50_ms'])} / {ms(r.client['p99_ms'])} | {ms(r.duration_p50_ms)} / "
            f"{ms(r.duration_p99_ms)} | {inits} | {r.max_memory_mb} of {r.memory_mb} MB | {r.gb_seconds:.1f} | "
            f"{money(r.cost_per_million)} | {money(r.warm_cost_per_million)} | {errs} | {r.cpu_ms_per_request:.0f} | "
            f"{r.cpu_busy_pct:.0f}% ({r.own_cpu_pct:.0f}%) / {r.loadavg_before:.2f} → {r.loadavg_after[0]:.2f} |")
    out += ["", f"Lambda prices: x86_64, us-east-1, $0.20 per 1M requests + {GB_SECOND_TEXT} per GB-second "
            f"(public price list as of {PRICES_AS_OF}; check aws.amazon.com/lambda/pricing), at the memory size "
            "shown; free tier and the front door not included. `$ per 1M (all)` counts every invocation of the run "
            "with its cold starts' Init billed, `(warm)` the warm invocations only (the steady state)."]
    firsts = [r for r in results if r.concurrency == min(x.concurrency for x in results if x.app == r.app)]
    out += ["", "| always-on, public on-demand price, us-east-1, as of 2026-11 (to be checked) | $ per hour | "
            "$ per month (730 h) | " + " | ".join(f"break-even req/s vs {r.app}" for r in firsts) + " |",
            "|---|---|---|" + "---|" * len(firsts)]
    for name, hourly in ALWAYS_ON:
        month = hourly * HOURS_PER_MONTH
        cells = [f"{month / (r.warm_cost_per_million / 1e6) / SECONDS_PER_MONTH:.2f}" for r in firsts]
        out.append(f"| {name} | ${hourly:.5f} | ${month:.2f} | " + " | ".join(cells) + " |")
    out += ["", "Break-even: the average request rate at which Lambda's warm cost per request (the run at the lowest "
            "concurrency: no CPU contention on this machine) adds up to the always-on price in a month of 730 h."]
    return "\n".join(out)


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"], capture_output=True,
                           text=True).stdout.strip()
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} x {model}, {mem} MB RAM; "
            f"Linux {platform.release()}; reweb {commit}{' (src modified)' if dirty else ''}; "
            f"Python {platform.python_version()}")


def versions() -> dict[str, str]:
    """The versions of what the chain runs (PHP, Apache, MariaDB, WordPress, Datasette, wrk), as far as found."""
    def first(cmd: list[str], pattern: str) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            m = re.search(pattern, p.stdout + p.stderr)
            if m:
                return m.group(1)
        return "?"

    wp = "?"
    with contextlib.suppress(OSError):
        m = re.search(r"\$wp_version = '([^']+)'", Path("/usr/share/wordpress/wp-includes/version.php").read_text())
        wp = m.group(1) if m else "?"
    return {"php": first(["php", "-v"], r"PHP (\S+)"), "apache": first(["apache2", "-v"], r"Apache/(\S+)"),
            "mariadb": first(["mariadbd", "--version"], r"Ver (\S+)"), "wordpress": wp,
            "datasette": first([str(KIT / "py/datasette/bin/datasette"), "--version"], r"version (\S+)"),
            "wrk": first(["wrk", "-v"], r"wrk (\S+)"), "python": platform.python_version()}


def recording(argv: list[str], began: str, results: list[Result]) -> dict[str, object]:
    """What tools/load_doc.py puts in docs/load-test.md: the runs with when, at which commit, and the load."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src/reweb"],
                           capture_output=True, text=True).stdout.split()[1::2]
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return {"command": shlex.join(["python3", "bench/load_test.py", *argv]), "began": began,
            "ended": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
            "src_modified": dirty,  # files of src/reweb changed and not committed when measured (others' work)
            "machine": {"cpus": os.cpu_count(), "cpu": model, "kernel": platform.release(),
                        "memory_mb": int(Path("/proc/meminfo").read_text().split()[1]) // 1024, **versions()},
            "lambda_prices": {"per_request": PRICE_PER_REQUEST, "per_gb_second": PRICE_PER_GB_SECOND,
                              "as_of": PRICES_AS_OF},
            "always_on": [{"name": name, "per_hour": hourly} for name, hourly in ALWAYS_ON],
            "results": [asdict(r) for r in results]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--apps", default="wordpress,datasette,static",
                    help="comma-separated: wordpress, datasette, static (bench/app.py: the emulator's own floor)")
    ap.add_argument("--concurrency", default="1,4,8", help="reweb local --concurrency values, comma-separated")
    ap.add_argument("--connections", type=int, default=0, help="load generator connections (default: = concurrency)")
    ap.add_argument("--duration", type=int, default=30, help="seconds of load per run (default 30, at most 300)")
    ap.add_argument("--max-requests", type=int, default=20000, help="at most this many requests per run")
    ap.add_argument("--memory", type=int, default=1024, help="reweb local --memory (MB), the size that is billed")
    ap.add_argument("--source", default="http-api", help="reweb local --source")
    ap.add_argument("--network", choices=("isolated", "shared"), default="isolated")
    ap.add_argument("--freeze", action=argparse.BooleanOptionalAction, default=True,
                    help="reweb local --freeze/--no-freeze (default: freeze, as Lambda)")
    ap.add_argument("--tool", choices=("wrk", "ab"), default="wrk")
    ap.add_argument("--runtime", default="", help="REWEB_LOCAL_RUNTIME: e.g. dist/reweb-linux-x86_64 (default: "
                    "the reweb package, `python -m reweb`)")
    ap.add_argument("--pause", type=float, default=5.0, help="seconds of rest between runs (the load average falls)")
    ap.add_argument("--wait-idle", type=float, default=0.0,
                    help="before each run, wait up to this many seconds for the machine to be quiet (default 0)")
    ap.add_argument("--json", type=Path, default=WORK.parent / "reweb-bench-load.json", help="results as JSON")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every app and concurrency this many times, round after round (the spread; 1-5)")
    ap.add_argument("--record", action="store_true",
                    help=f"also write the results to {RECORDING.relative_to(REPO)}, docs/load-test.md's source "
                    "(python3 tools/load_doc.py --write)")
    args = ap.parse_args()
    apps = [APPS[a] for a in args.apps.split(",") if a]
    levels = [int(x) for x in args.concurrency.split(",") if x]
    if not 1 <= args.duration <= 300 or not 1 <= args.max_requests <= 1_000_000 or not 1 <= args.rounds <= 5:
        raise SystemExit("--duration must be 1-300 s, --max-requests 1-1000000 and --rounds 1-5")
    if args.network == "shared" and any(n > 1 for n in levels):
        raise SystemExit("--network shared runs one instance at a time: use --concurrency 1")
    if os.geteuid() != 0:
        raise SystemExit("run as root: instances get network namespaces and the apps run as `nobody` (setpriv)")
    if not (KIT / ".installed").exists():
        raise SystemExit(f"the apps' kit is missing: run `bash tests/apps/install.sh` (kit in {KIT})")
    user_ids(USER)
    tool = load_tool(args.tool)

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    LOGS.mkdir()
    fresh_dir(WP_DIR, USER)
    fresh_dir(WORK / "home", USER)
    shutil.copy(KIT / "datasette" / "demo.db", WORK / "demo.db")
    (WORK / "static").mkdir()
    for f in ("app.py", "payloads.py"):
        shutil.copy(BENCH / f, WORK / "static" / f)
    for p in (WORK, WORK / "demo.db", WORK / "static"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    log(f"machine: {machine()}")
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results: list[Result] = []
    try:
        with mariadb() if any(a.name == "wordpress" for a in apps) else contextlib.nullcontext():
            if any(a.name == "wordpress" for a in apps):
                wordpress_files()
                install_wordpress(args)
            for round_no in range(1, args.rounds + 1):  # rounds after one another: slow drift spreads over all
                for app in apps:
                    for n in levels:
                        time.sleep(args.pause)
                        wait_idle(args.wait_idle)
                        results.append(one_run(app, n, args, tool, round_no))
    finally:
        leftovers()
    args.json.write_text(json.dumps({"machine": machine(), "results": [asdict(r) for r in results]}, indent=2))
    if args.record:
        RECORDING.write_text(json.dumps(recording(sys.argv[1:], began, results), indent=1, ensure_ascii=False)
                             + "\n")
        log(f"recorded in {RECORDING}: python3 tools/load_doc.py --write puts it in docs/load-test.md")
    print(f"Measured {machine()}\n")
    print(tables(results))
    print("\nCommands (per run):")
    for r in results:
        print(f"  {r.app} c={r.concurrency}: {r.reweb_command}\n    load: {r.load_command}")
    print(f"\nresults: {args.json}; logs of reweb local (REPORT lines): {LOGS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
