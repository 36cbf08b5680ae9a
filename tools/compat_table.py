"""Render the real-application compatibility table into README.md from the suite's results (never typed by hand).

    python3 tools/compat_table.py [--results tests/apps/results/results.json] [--readme README.md] [--check]
    python3 tools/compat_table.py --record   # take the last test run's results (build/apps-results.json)

The cold-start table under it comes from tests/apps/results/cold_start.json (`python3 bench/app_cold_start.py
--record`): the same starts measured directly and through reweb in one run, with the spread, never the suite's
single loaded figures.

Writes only between the `<!-- compat:start -->` and `<!-- compat:end -->` markers. With --check, exits 1 when the
README is not what the results say (for CI), and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- compat:start -->", "<!-- compat:end -->"
#: Every front door, in the order a user meets them; the header each gets in the table.
SOURCES: dict[str, str] = {
    "http-api": "API GW HTTP API",
    "rest": "API GW REST",
    "alb": "ALB",
    "alb-multi": "ALB multi-value",
    "function-url": "Function URL",
    "function-url-stream": "Function URL streaming",
    "lattice": "VPC Lattice",
}

#: What each app is made of; the results say how it fared.
APPS: dict[str, tuple[str, str]] = {
    "django": ("Django 5.2 admin", "Python, gunicorn, PostgreSQL"),
    "datasette": ("Datasette 0.65", "Python, uvicorn (ASGI), SQLite"),
    "wordpress": ("WordPress 6.1", "PHP 8.2, Apache + mod_php, MariaDB"),
    "dokuwiki": ("DokuWiki 2022-07-31", "PHP 8.2, nginx + php-fpm, files"),
    "adminer": ("Adminer 4.8", "PHP 8.2, `php -S`, PostgreSQL"),
    "prometheus": ("Prometheus 2.42", "Go, own TSDB"),
    "hledger-web": ("hledger-web 1.25", "Haskell, Warp, journal file"),
    "caddy": ("Caddy 2.6 file server", "Go"),
    "json-server": ("json-server 0.17", "Node 20, Express, JSON file"),
    "node-red": ("Node-RED 4.1", "Node 20, Express, files"),
    "phpmyadmin": ("phpMyAdmin 5.2", "PHP 8.2, `php -S`, MariaDB"),
    "mediawiki": ("MediaWiki 1.39", "PHP 8.2, nginx + php-fpm, SQLite"),
    "redmine": ("Redmine 5.0", "Ruby 3.1, Rails 6.1, Puma, SQLite"),
    "fastapi": ("FastAPI (library catalogue)", "Python, uvicorn (ASGI), SQLite in /tmp"),
    "nextjs": ("Next.js 16.4", "Node 20, `next start`, App Router, streaming SSR"),
    "syncthing": ("Syncthing 1.19 GUI + REST", "Go"),
    "tomcat": ("Tomcat 10.1", "Java 17, servlets and JSP"),
}

#: The AWS limits a test may expect instead of the app's own behaviour (keys of tests/apps/appkit.py LIMITS), as
#: footnotes: what the front door does, with AWS's page for it. Numbered in this order among those that occur.
LIMITS: dict[str, str] = {
    "last-repeat": ("ALB with multi-value headers off (the target group's default) passes only the last value of "
                         "a repeated query key or header ([ELB guide, Lambda functions as targets, multi-value headers]"
                         "(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html"
                         "#multi-value-headers))"),
    "alb-1mb": ("ALB takes at most 1 MB of response JSON from Lambda, base64 included: a larger answer is a 502 "
                     "([ELB guide, Lambda functions as targets, limits](https://docs.aws.amazon.com/elasticloadbalancing"
                     "/latest/application/lambda-functions.html))"),
    "alb-1mb-request": ("ALB sends at most 1 MB of request body to Lambda: a larger request is a 413 ([ELB guide, "
                        "Lambda functions as targets, limits](https://docs.aws.amazon.com/elasticloadbalancing/latest/"
                        "application/lambda-functions.html))"),
    "no-reason": ("API Gateway and Function URLs have no field for a reason phrase: the client gets the standard "
                       "one (\"403 Forbidden\", not the app's \"403 Login failed\") ([Lambda proxy integration "
                       "output](https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-"
                       "integrations.html#api-gateway-simple-proxy-for-lambda-output-format), [Function URL response "
                       "payload](https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html))"),
}


SUPERSCRIPTS = "¹²³⁴⁵⁶⁷⁸⁹"


def _cell(entry: dict[str, Any] | None, marks: dict[str, str]) -> str:
    if not entry:
        return "not run"
    met = [marks[k] for k in marks if k in entry.get("aws_limits", ())]
    note = " " + ",".join(met) if met else ""
    if entry["result"] == "pass":
        return f"✅ {entry['passed']}/{entry['passed']}{note}"
    total = entry["passed"] + len(entry["failed"])
    return f"❌ {entry['passed']}/{total}{note}"


def _spread(samples: list[float]) -> str:
    return f"{statistics.median(samples):.0f} ({min(samples):.0f}-{max(samples):.0f})"


def render(results: dict[str, Any], cold: dict[str, Any] | None = None) -> str:
    apps: dict[str, dict[str, Any]] = results.get("apps", {})
    head = ["app", "stack", "direct (no reweb)", *SOURCES.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = [k for k in APPS if k in apps or k in (cold or {}).get("apps", {})] + sorted(set(apps) - set(APPS))
    met = {k for modes in apps.values() for m in modes.values() for k in m.get("aws_limits", ())}
    marks = {k: SUPERSCRIPTS[i] for i, k in enumerate(k for k in LIMITS if k in met)}  # numbered as they occur
    for key in keys:
        modes = apps.get(key, {})
        name, stack = APPS.get(key, (key, ""))
        row = [f"[{name}](docs/apps/{key}.md)", stack, _cell(modes.get("direct"), marks),
               *(_cell(modes.get(s), marks) for s in SOURCES)]
        lines.append("| " + " | ".join(row) + " |")
    when = max((m.get("when", "") for modes in apps.values() for m in modes.values()), default="")
    used = list(marks)
    lines += [
        "",
        f"Generated by `tools/compat_table.py` from `tests/apps/results/results.json` (last run {when or 'never'}). "
        "A cell is the tests passed through that front door"
        + (". A mark means a test there expects what AWS does instead of what the app does when run directly "
           "(an AWS limit, not reweb's); the app's guide in docs/apps/ names the test:" if used else "."),
        *([""] if used else []),
        *(f"- {marks[k]} {LIMITS[k]}" for k in used),
    ]
    if cold and cold.get("apps"):
        lines += ["", *_cold_table(cold, keys)]
    return "\n".join(lines)


def _interpreter_note(machine: dict[str, Any]) -> str:
    interp = machine.get("interpreter_start_ms", {})
    full, bare = interp.get("python3 -c pass"), interp.get("python3 -S -c pass")
    if full is None or bare is None:
        return ""
    return (f" Each Init includes one Python start: {full:.0f} ms on this machine, {bare:.0f} ms without "
            "site-packages' .pth files (`python3 -S`); the difference is this sandbox's own `.pth` hook, which Lambda "
            "does not have.")


def _cold_table(cold: dict[str, Any], keys: list[str]) -> list[str]:
    m = cold.get("machine", {})
    lines = [
        f"Cold start, side by side (`python3 bench/app_cold_start.py --record`, {cold.get('when', '?')}): each app "
        f"started {cold.get('runs', '?')} times directly and {cold.get('runs', '?')} times through `reweb local "
        f"--source {cold.get('source', '?')}` (runtime: {cold.get('runtime', 'python')}), alternately, in one run, "
        f"on {m.get('cpus', '?')} CPUs (load average {m.get('load_before', '?')} before, {m.get('load_after', '?')} "
        "after). Milliseconds, median (min-max). reweb's own part is the median over starts of Init minus the app's "
        "start inside it." + (_interpreter_note(m) if cold.get("runtime", "python") == "python" else
                              " The instances ran the one-file executable (`dist/reweb-linux-x86_64`), what a "
                              "container "
                              "image runs on Lambda: no Python start of this machine's is in it.")
        + " What each figure includes, and what reweb's part is made of: "
        "[docs/performance.md](docs/performance.md#cold-start-of-real-apps).",
        "",
        "| app | app alone (spawn to first ready answer) | Lambda Init through reweb | the app's start inside that "
        "Init | reweb's own part of Init | first request at the client |",
        "|---|---|---|---|---|---|",
    ]
    for key in [*keys, *sorted(set(cold["apps"]) - set(keys))]:
        row = cold["apps"].get(key)
        if not row:
            continue
        name = APPS.get(key, (key, ""))[0]
        lines.append(f"| {name} | {_spread(row['direct_ms'])} | {_spread(row['init_ms'])} | "
                     f"{_spread(row['app_ready_inside_ms'])} | {row['reweb_own_ms']:.0f} | "
                     f"{_spread(row['first_request_ms'])} |")
    return lines


def splice(readme: str, table: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"README has no {START} ... {END} markers")
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--results", type=Path, default=ROOT / "tests/apps/results/results.json")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    ap.add_argument("--cold", type=Path, default=ROOT / "tests/apps/results/cold_start.json",
                    help="bench/app_cold_start.py --record's output (the cold-start table; left out if missing)")
    ap.add_argument("--check", action="store_true", help="exit 1 if the README is out of date; change nothing")
    ap.add_argument("--print", action="store_true", help="print the table instead of writing the README")
    ap.add_argument("--record", action="store_true",
                    help="first copy the last test run's results (build/apps-results.json) into --results")
    args = ap.parse_args(argv)
    if args.record:
        last = ROOT / "build" / "apps-results.json"
        if not last.exists():
            print(f"{last} does not exist: run the app tests first (bash scripts/test)", file=sys.stderr)
            return 1
        args.results.write_text(last.read_text(encoding="utf-8"), encoding="utf-8")
    cold = json.loads(args.cold.read_text(encoding="utf-8")) if args.cold.exists() else None
    table = render(json.loads(args.results.read_text(encoding="utf-8")), cold)
    if args.print:
        print(table)
        return 0
    old = args.readme.read_text(encoding="utf-8")
    new = splice(old, table)
    if args.check:
        if new != old:
            print(f"{args.readme} is out of date: run python3 tools/compat_table.py", file=sys.stderr)
            return 1
        return 0
    if new != old:
        args.readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
