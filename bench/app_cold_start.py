"""Cold start of the real apps, side by side: each app started directly and through `reweb local`, alternately.

    python3 bench/app_cold_start.py                      # every app of tests/apps, 5 starts each way, http-api
    python3 bench/app_cold_start.py --apps caddy,adminer --runs 9
    python3 bench/app_cold_start.py --record             # also write tests/apps/results/cold_start.json (README)

(bench/coldstart.py is the other cold-start benchmark: reweb alone against a null runtime and a toy app, with
profilers. This one answers "what does reweb add to *my* app's start?".)

Needs root and the apps' kit (`bash tests/apps/install.sh`). Takes /tmp/reweb-apps.lock itself (the same ports,
databases and user as the suite, which must not run at the same time): do not wrap it in `flock`.

One start measured both ways, the same way each time:
  * direct: `setpriv ... env -i ... <the app's command>` (the suite's user switch) is spawned; the app's wait path is
    probed every 2 ms; the figure is from the spawn to the first answer with a ready status (REWEB_WAIT_CODE).
    This is the app's own readiness time, nothing of reweb in it.
  * reweb: `reweb local --source S --network shared --concurrency 1 -- <the same setpriv command>` is started and
    waited for (its own start is not part of any figure); then one request. Three figures come from that one start:
      - Init: the emulated Lambda `Init Duration` of its REPORT line: from spawning the runtime (`python3 -m reweb`)
        to its first /next, i.e. interpreter start, reweb's imports and config, the app's start, reweb's readiness
        wait (10 ms probes), the extension registration;
      - app ready inside: reweb's own log line "app is ready ... since_spawn_ms=", from reweb spawning the app to the
        probe that found it ready: the app's readiness time as measured inside that very start;
      - first request: at the client, from sending the request to the gateway to the end of the answer (what a user
        waits for on a cold start: Init, the invocation, the gateway).
  The ways take turns going first (direct, reweb, and any --compare trees), so load and caches fall on all.
  "reweb adds" = median Init - median direct; "reweb's own" = median of (Init - app ready inside) per start, which
  is reweb's part of the very same start and so immune to the run-to-run spread of the app itself.

Also printed: the bare interpreter start on this machine (`python3 -c pass`, and with -S, i.e. without site-packages'
.pth files), since every figure of reweb includes one interpreter start.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPS_DIR = ROOT / "tests" / "apps"
sys.path.insert(0, str(APPS_DIR))
sys.path.insert(0, str(ROOT / "src"))

import appkit  # noqa: E402  (tests/apps, on the path just above)

LOCK = Path("/tmp/reweb-apps.lock")
RECORD = APPS_DIR / "results" / "cold_start.json"
# since_spawn_ms: from reweb's spawn of the app to the probe that found it ready (older reweb: after_ms, the
# readiness wait alone, which is the same figure when the app is spawned right before the wait).
READY_AFTER = re.compile(r"app is ready after_ms=([0-9.]+)(?: since_spawn_ms=([0-9.]+))?")
PROBE_INTERVAL = 0.002


def load_apps(names: list[str] | None) -> list[ModuleType]:
    mods = []
    for path in sorted(APPS_DIR.glob("test_app_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if names is None or mod.SPEC.name in names:
            mods.append(mod)
    if names is not None:
        missing = set(names) - {m.SPEC.name for m in mods}
        if missing:
            raise SystemExit(f"unknown app(s): {', '.join(sorted(missing))}")
    return mods


def wait_ready(spec: appkit.AppSpec, base: str, proc: appkit.Running, timeout: float) -> float:
    """Probe spec.wait_path every 2 ms until it answers a ready status; the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.alive():
        if appkit.probe(base, spec.wait_path, spec.ok) is not None:
            return time.monotonic()
        time.sleep(PROBE_INTERVAL)
    raise RuntimeError(f"{spec.name}: {spec.wait_path} never answered {spec.wait_codes}\n{proc.tail()}")


def stopped(spec: appkit.AppSpec, proc: appkit.Running) -> None:
    proc.stop()
    if not appkit.wait_until(lambda: not appkit.user_pids(), 10):
        raise RuntimeError(f"{spec.name}: processes of {appkit.APP_USER} left: {appkit.user_pids()}")
    appkit.wait_until(lambda: not appkit.port_open(spec.port), 5)


def start_direct(spec: appkit.AppSpec) -> float:
    spec.prepare()
    base = f"http://127.0.0.1:{spec.port}"
    argv = appkit.as_user(spec.command(base), env=spec.env)
    t0 = time.monotonic()
    proc = appkit.Running(argv, appkit.LOG_DIR / f"bench-{spec.name}-direct.log", cwd=spec.cwd)
    try:
        return (wait_ready(spec, base, proc, spec.start_timeout) - t0) * 1000
    finally:
        stopped(spec, proc)


def start_reweb(spec: appkit.AppSpec, mode: str, src: str = "") -> dict[str, float]:
    spec.prepare()
    gw = appkit.free_port()
    base = f"http://127.0.0.1:{gw}"
    argv, env = appkit.local_command(spec, mode, gw, base)
    if src:  # --compare: reweb (and reweb local) from another source tree
        env["PYTHONPATH"] = src
    proc = appkit.Running(argv, appkit.LOG_DIR / f"bench-{spec.name}-{mode}.log", env=env, cwd=spec.cwd)
    try:
        if not appkit.wait_until(lambda: appkit.port_open(gw) or not proc.alive(), 30, 0.01) or not proc.alive():
            raise RuntimeError(f"{spec.name}: reweb local did not start\n{proc.tail()}")
        t0 = time.monotonic()
        try:  # the first request waits for the whole Init: as long as the app may take to start
            client = appkit.Client(base, timeout=spec.start_timeout)
            status = client.request("GET", spec.wait_path, cookies=False).status
        except (OSError, appkit.http.client.HTTPException) as exc:
            raise RuntimeError(f"{spec.name}/{mode}: the first request failed: {exc}\n{proc.tail()}") from None
        first = (time.monotonic() - t0) * 1000
        if not spec.ok(status):
            raise RuntimeError(f"{spec.name}/{mode}: the first request got {status}\n{proc.tail()}")
        if not appkit.wait_until(lambda: appkit.INIT_DURATION.search(proc.tail(200_000)) is not None, 5, 0.01):
            raise RuntimeError(f"{spec.name}/{mode}: no Init Duration in the REPORT line\n{proc.tail()}")
        text = proc.tail(200_000)
        init = appkit.INIT_DURATION.search(text)
        inner = READY_AFTER.search(text)
        assert init is not None
        return {"init": float(init.group(1)), "first_request": first,
                "app_ready_inside": float(inner.group(2) or inner.group(1)) if inner else float("nan")}
    finally:
        stopped(spec, proc)


def interpreter_start(runs: int) -> dict[str, float]:
    out = {}
    for label, argv in (("python3 -c pass", [sys.executable, "-c", "pass"]),
                        ("python3 -S -c pass", [sys.executable, "-S", "-c", "pass"])):
        samples = []
        for _ in range(runs):
            t0 = time.monotonic()
            subprocess.run(argv, check=True)
            samples.append((time.monotonic() - t0) * 1000)
        out[label] = statistics.median(samples)
    return out


@contextlib.contextmanager
def databases(mods: list[ModuleType]) -> Iterator[None]:
    needs = {dep for m in mods for dep in getattr(m, "NEEDS", ())}
    with contextlib.ExitStack() as stack:
        if "postgres" in needs:
            stack.enter_context(appkit.postgres_server())
        if "mariadb" in needs:
            stack.enter_context(appkit.mariadb_server())
        yield


def summarize(direct: list[float], reweb: list[dict[str, float]]) -> dict[str, Any]:
    inits = [r["init"] for r in reweb]
    own = [r["init"] - r["app_ready_inside"] for r in reweb]
    return {
        "direct_ms": [round(x, 1) for x in direct],
        "init_ms": [round(x, 1) for x in inits],
        "app_ready_inside_ms": [round(r["app_ready_inside"], 1) for r in reweb],
        "first_request_ms": [round(r["first_request"], 1) for r in reweb],
        "reweb_adds_ms": round(statistics.median(inits) - statistics.median(direct), 1),
        "reweb_own_ms": round(statistics.median(own), 1),
    }


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.0f} ({min(xs):.0f}-{max(xs):.0f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--apps", help="comma-separated app names (default: every app of tests/apps)")
    ap.add_argument("--runs", type=int, default=5, help="starts each way per app (default %(default)s)")
    ap.add_argument("--source", default="http-api", choices=appkit.REWEB_MODES, help="front door (default %(default)s)")
    ap.add_argument("--runtime", default="python",
                    help="what each emulated instance runs: `python` (python3 -m reweb, reweb local's default), `exe` "
                         "(dist/reweb-linux-x86_64, the one-file executable a container image runs; scripts/build), or "
                         "a command line (default %(default)s)")
    ap.add_argument("--record", action="store_true", help=f"write {RECORD.relative_to(ROOT)} for the README table")
    ap.add_argument("--compare", action="append", default=[], metavar="SRC",
                    help="also start each app through reweb from this source tree (a `src` folder: another checkout "
                         "or a patched copy), in the same alternation, to judge a change under the same load")
    args = ap.parse_args(argv)
    runtime = {"python": "", "exe": str(ROOT / "dist" / "reweb-linux-x86_64")}.get(args.runtime, args.runtime)
    if runtime:
        os.environ["REWEB_LOCAL_RUNTIME"] = runtime  # read by reweb local (src/reweb/local/options.py)
    else:
        os.environ.pop("REWEB_LOCAL_RUNTIME", None)
    if os.geteuid() != 0:
        raise SystemExit("needs root (the apps run as the user reweb-app through setpriv)")
    mods = load_apps(args.apps.split(",") if args.apps else None)
    LOCK.touch()
    with open(LOCK) as lock:
        print(f"waiting for {LOCK} (the app suite or another benchmark may hold it)...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        # reweb's bytecode compiled first, as in an image (appkit points reweb local at this cache): otherwise a
        # source edited since its last compile is compiled again at every start (PYTHONDONTWRITEBYTECODE is set here).
        import reweb

        for tree in [str(Path(reweb.__file__).parent), *args.compare]:
            subprocess.run([sys.executable, "-m", "compileall", "-q", tree], check=True, stdout=subprocess.DEVNULL,
                           env={**os.environ, "PYTHONPYCACHEPREFIX": str(appkit.PYCACHE)})
        load_before = os.getloadavg()
        interp = interpreter_start(max(args.runs, 5))
        results: dict[str, Any] = {}
        extra: dict[str, Any] = {}  # --compare rows: printed, never recorded
        failed: dict[str, str] = {}
        with databases(mods):
            for mod in mods:
                spec: appkit.AppSpec = mod.SPEC
                direct: list[float] = []
                reweb: list[dict[str, float]] = []
                others: dict[str, list[dict[str, float]]] = {src: [] for src in args.compare}
                ways = ["direct", "reweb", *args.compare]
                try:
                    for i in range(args.runs):
                        for way in ways[i % len(ways):] + ways[:i % len(ways)]:  # each way goes first in turn
                            if way == "direct":
                                direct.append(start_direct(spec))
                            elif way == "reweb":
                                reweb.append(start_reweb(spec, args.source))
                            else:
                                others[way].append(start_reweb(spec, args.source, way))
                except (RuntimeError, AssertionError) as exc:  # one app that fails to start spoils no other
                    failed[spec.name] = str(exc).splitlines()[0]
                    print(f"{spec.name:12} FAILED: {failed[spec.name]}", flush=True)
                    continue
                results[spec.name] = summarize(direct, reweb)
                row = results[spec.name]
                print(f"{spec.name:12} direct {spread(direct):>16}  Init {spread(row['init_ms']):>16}  "
                      f"adds {row['reweb_adds_ms']:6.0f}  own {row['reweb_own_ms']:5.0f}", flush=True)
                for src, runs in others.items():
                    extra[f"{spec.name} ({src})"] = summarize(direct, runs)
        load_after = os.getloadavg()
    print()
    print(f"Cold start, ms: median (min-max) of {args.runs} starts each way, alternated; source {args.source}; "
          f"runtime {args.runtime}; "
          f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print()
    print("| app | direct (app alone) | Init through reweb | app ready, inside that Init | first request "
          "(client) | reweb adds (Init - direct) | reweb's own (Init - app ready inside) |")
    print("|---|---|---|---|---|---|---|")
    for name, row in [*results.items(), *extra.items()]:
        print(f"| {name} | {spread(row['direct_ms'])} | {spread(row['init_ms'])} | "
              f"{spread(row['app_ready_inside_ms'])} | {spread(row['first_request_ms'])} | "
              f"{row['reweb_adds_ms']:.0f} | {row['reweb_own_ms']:.0f} |")
    print()
    for label, ms in interp.items():
        print(f"interpreter start here, `{label}`: {ms:.0f} ms (median)")
    for name, why in failed.items():
        print(f"{name}: not measured: {why}")
    if args.record:
        doc = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runs": args.runs,
            "source": args.source,
            "runtime": args.runtime,
            "machine": {"cpus": os.cpu_count(), "load_before": round(load_before[0], 2),
                        "load_after": round(load_after[0], 2), "python": platform.python_version(),
                        "interpreter_start_ms": {k: round(v, 1) for k, v in interp.items()}},
            "apps": results,
        }
        old: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            old = json.loads(RECORD.read_text())
        if args.apps and old.get("apps"):  # a partial run updates its apps only
            old["apps"].update(results)
            doc["apps"] = old["apps"]
        RECORD.write_text(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"\nwrote {RECORD.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
