"""What Lambda would do with the traffic seen: the dashboard at /__reweb/ and the summary printed at Ctrl-C.

Everything comes from two places. The front door says what each request was and what it was answered
(method, path, status, latency, the Lambda error if any); the REPORT lines (report.Logger.on_report) say
what Lambda would measure and bill (duration, billed duration, memory used, init duration). The two meet
on the request id. Instances come from the pool's events (each start, each move of an instance's state
machine), each invocation and REPORT names its instance, and a dead instance keeps the reason its death recorded.

The page is one HTML document with its script and style inline (a nonce'd Content-Security-Policy forbids
anything else, so nothing can load from outside 127.0.0.1); it polls /__reweb/api/state once a second.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .instances import Instance, Pool
from .options import Options
from .report import InitReport, Logger, Report
from .runtime_api import Invocation

# The reserved prefix: never passed to the app while the dashboard is on (REWEB_LOCAL_DASHBOARD=off frees it).
PREFIX = "/__reweb/"
STATE_PATH = PREFIX + "api/state"

# AWS Lambda on-demand prices, x86_64, us-east-1 (first tier of compute), from AWS's public pricing page.
PRICE_PER_REQUEST = 0.20 / 1_000_000
PRICE_PER_GB_SECOND = 0.0000166667
GB_SECOND_TEXT = "$0.0000166667"
PRICES_AS_OF = "2026-11"
PRICES_NOTE = (
    f"AWS Lambda on-demand prices, x86_64, us-east-1: $0.20 per 1M requests and {GB_SECOND_TEXT} per "
    f"GB-second (public price list as of {PRICES_AS_OF}, from AWS's public pricing page, "
    "aws.amazon.com/lambda/pricing: check them there). Free tier not deducted; the front door "
    "(API Gateway, ALB, Lattice) is billed apart and not included."
)

ROWS_KEPT = 1000  # invocations kept for the table and the chart (the totals count them all)
DEAD_KEPT = 20  # dead instances still shown


@dataclass(slots=True)
class Row:
    """One request through the front door and, when it reached Lambda, its invocation."""

    seq: int
    request_id: str
    started: float  # epoch seconds, at the front door
    method: str
    path: str
    version: int = 0
    status: int | None = None  # what the client got; None while in flight, or when the client left
    answered: bool = False
    latency_ms: float | None = None  # at the front door: what the client waited
    duration_ms: float | None = None  # the REPORT's fields from here on
    billed_ms: int | None = None
    max_used_mb: int | None = None
    init_ms: float | None = None
    reported: bool = False
    lambda_status: str | None = None
    error: str | None = None  # the Lambda error (error type), or what failed at the front door
    invoked: bool = True  # False: refused before any invocation (too large, init failed)
    instance: int | None = None
    counted_error: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "id": self.request_id, "started": round(self.started * 1000), "method": self.method,
            "path": self.path, "status": self.status, "answered": self.answered,
            "latency_ms": _round(self.latency_ms), "duration_ms": _round(self.duration_ms),
            "billed_ms": self.billed_ms, "max_used_mb": self.max_used_mb, "init_ms": _round(self.init_ms),
            "reported": self.reported, "cold": (self.init_ms is not None) if self.reported else None,
            "lambda_status": self.lambda_status, "error": self.error, "invoked": self.invoked,
            "instance": self.instance,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True, slots=True)
class Summary:
    memory_mb: int
    requests: int  # at the front door, dashboard excluded
    invocations: int  # REPORT lines: what Lambda bills as requests
    cold_starts: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    max_memory_mb: int | None
    init_ms: list[float]
    failed_inits: list[InitReport]
    billed_ms: int
    gb_seconds: float
    request_cost: float
    compute_cost: float
    instances: int = 0  # instances started (each one's init is in the REPORT of its first invocation)
    throttles: int = 0  # requests Lambda would have refused: no invocation, nothing billed

    @property
    def total_cost(self) -> float:
        return self.request_cost + self.compute_cost

    @property
    def cost_per_million(self) -> float | None:
        return self.total_cost / self.invocations * 1_000_000 if self.invocations else None

    def view(self) -> dict[str, Any]:
        return {
            "memory_mb": self.memory_mb, "requests": self.requests, "invocations": self.invocations,
            "cold_starts": self.cold_starts, "errors": self.errors, "p50_ms": _round(self.p50_ms),
            "p95_ms": _round(self.p95_ms), "p99_ms": _round(self.p99_ms), "max_ms": _round(self.max_ms),
            "max_memory_mb": self.max_memory_mb, "init_ms": [round(v, 2) for v in self.init_ms[-50:]],
            "init_count": len(self.init_ms), "failed_inits": len(self.failed_inits), "billed_ms": self.billed_ms,
            "gb_seconds": self.gb_seconds, "request_cost": self.request_cost, "compute_cost": self.compute_cost,
            "total_cost": self.total_cost, "cost_per_million": self.cost_per_million,
            "instances": self.instances, "throttles": self.throttles,
            "text": {"total_cost": money(self.total_cost), "request_cost": money(self.request_cost),
                     "compute_cost": money(self.compute_cost), "gb_seconds": gb_seconds(self.gb_seconds),
                     "cost_per_million": money(self.cost_per_million) if self.cost_per_million is not None else None},
            "lines": summary_lines(self),
        }


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list: the smallest value with at least p% of them at or below."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def money(dollars: float) -> str:
    """Dollars, with cents when there are some and three significant digits when it is less than a cent."""
    if dollars == 0:
        return "$0"
    if dollars >= 0.01:
        return f"${dollars:,.2f}"
    decimals = -math.floor(math.log10(dollars)) + 2
    return f"${dollars:.{decimals}f}"


def gb_seconds(value: float) -> str:
    """GB-seconds with four significant digits below 1000, no exponent."""
    if value == 0:
        return "0"
    if value >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 3 - math.floor(math.log10(value)))
    return f"{value:.{decimals}f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def summary_lines(s: Summary) -> list[str]:
    """The summary, one line each (printed at Ctrl-C after "reweb local: ", shown on the dashboard)."""
    if not s.invocations:
        lines = [f"summary: no invocation ({s.requests} request{'s' if s.requests != 1 else ''} at the front door)"]
        if s.throttles:
            lines.append(f"  {s.throttles} throttled (no instance free, --concurrency reached)")
        if s.failed_inits:
            lines.append(f"  {len(s.failed_inits)} init(s) failed: " + ", ".join(
                f"{r.init_ms:.2f} ms ({r.status}{', ' + r.error_type if r.error_type else ''})"
                for r in s.failed_inits[:10]))
        return lines
    n = s.invocations
    lines = [
        f"summary: {n} invocation{'s' if n != 1 else ''}, {s.cold_starts} cold start{'s' if s.cold_starts != 1 else ''}"
        f", {s.errors} error{'s' if s.errors != 1 else ''}, at {s.memory_mb} MB",
        f"  duration p50 {_ms(s.p50_ms)}, p95 {_ms(s.p95_ms)}, p99 {_ms(s.p99_ms)}, max {_ms(s.max_ms)}",
        f"  max memory used {s.max_memory_mb} MB of {s.memory_mb} MB; billed duration {s.billed_ms} ms in all",
    ]
    if s.init_ms:
        shown = ", ".join(f"{v:.2f}" for v in s.init_ms[:10]) + (", ..." if len(s.init_ms) > 10 else "")
        lines.append(f"  init durations: {shown} ms (min {min(s.init_ms):.2f}, max {max(s.init_ms):.2f})")
    else:
        lines.append("  init durations: none (every invocation ran warm)")
    if s.instances or s.throttles:
        lines.append(f"  {s.instances} instance{'s' if s.instances != 1 else ''} started, {s.throttles} request"
                     f"{'s' if s.throttles != 1 else ''} throttled (refused by Lambda: no invocation, not billed)")
    if s.failed_inits:
        lines.append(f"  failed inits: {len(s.failed_inits)} (" + ", ".join(
            f"{r.status}{' ' + r.error_type if r.error_type else ''} after {r.init_ms:.2f} ms"
            for r in s.failed_inits[:5]) + ")")
    lines.append(f"  Lambda cost of this traffic: {money(s.total_cost)} = {n} request{'s' if n != 1 else ''} "
                 f"{money(s.request_cost)}"
                 f" + {gb_seconds(s.gb_seconds)} GB-s {money(s.compute_cost)}")
    per_million = s.cost_per_million or 0.0
    lines.append(f"  estimated cost per million requests like these: {money(per_million)}")
    lines.append(f"  prices: x86_64, us-east-1, $0.20 per 1M requests, {GB_SECOND_TEXT} per GB-second "
                 f"(AWS public price list as of {PRICES_AS_OF}: check aws.amazon.com/lambda/pricing); "
                 "free tier and the front door's own price not included")
    return lines


class Stats:
    """Every request and invocation seen: the last ROWS_KEPT in full, the totals over all of them."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.version = 0
        self._seq = 0
        self.rows: OrderedDict[str, Row] = OrderedDict()
        self.requests = 0
        self.invocations = 0
        self.cold_starts = 0
        self.errors = 0
        self.billed_total_ms = 0
        self.max_memory_mb: int | None = None
        self.durations = array("d")
        self._sorted: list[float] = []
        self._sorted_len = 0
        self.init_ms: list[float] = []
        self.failed_inits: list[InitReport] = []
        self.instances = 0
        self.throttles = 0

    def watch(self, log: Logger) -> None:
        log.on_report.append(self.reported)
        log.on_init_report.append(self.init_reported)

    def _touch(self, row: Row) -> None:
        self.version += 1
        row.version = self.version

    # ---- from the front door ----------------------------------------------------------------------------

    def request_started(self, request_id: str, method: str, path: str) -> Row:
        self.requests += 1
        self._seq += 1
        row = Row(self._seq, request_id, time.time(), method, path[:500])
        self.rows[request_id] = row
        while len(self.rows) > ROWS_KEPT:
            self.rows.popitem(last=False)
        self._touch(row)
        return row

    def request_answered(self, request_id: str, status: int | None, latency_ms: float) -> None:
        row = self.rows.get(request_id)
        if row is not None:
            row.status, row.answered, row.latency_ms = status, True, latency_ms
            self._touch(row)

    def failed(self, request_id: str, error: str, invoked: bool = True) -> None:
        """The invocation failed (a Lambda error type), or the request never became one (invoked=False)."""
        row = self.rows.get(request_id)
        if row is None:
            return
        row.error = row.error or error
        row.invoked = row.invoked and invoked
        if invoked and not row.counted_error:
            row.counted_error = True
            self.errors += 1
        self._touch(row)

    def throttled(self, request_id: str) -> None:
        self.throttles += 1
        self.failed(request_id, "throttled", invoked=False)

    def instance_started(self) -> None:
        self.instances += 1
        self.version += 1

    def attribute(self, request_id: str, instance: int) -> bool:
        """Record which instance ran it; True the first time."""
        row = self.rows.get(request_id)
        if row is None or row.instance is not None:
            return False
        row.instance = instance
        self._touch(row)
        return True

    # ---- from the REPORT lines --------------------------------------------------------------------------

    def reported(self, rep: Report) -> None:
        self.invocations += 1
        self.durations.append(rep.duration_ms)
        self.billed_total_ms += rep.billed_ms
        self.max_memory_mb = max(self.max_memory_mb or 0, rep.max_used_mb)
        if rep.init_ms is not None:
            self.cold_starts += 1
            self.init_ms.append(rep.init_ms)
        row = self.rows.get(rep.request_id)
        if row is None:
            return
        row.reported = True
        row.duration_ms, row.billed_ms, row.max_used_mb, row.init_ms = (rep.duration_ms, rep.billed_ms,
                                                                         rep.max_used_mb, rep.init_ms)
        row.lambda_status = rep.status
        if rep.instance is not None:
            row.instance = rep.instance
        if rep.status or rep.error_type:
            # The front door may have said it first (it has the outcome); a timeout is Sandbox.Timedout to Lambda.
            row.error = row.error or rep.error_type or ("Sandbox.Timedout" if rep.status == "timeout" else rep.status)
            if not row.counted_error:
                row.counted_error = True
                self.errors += 1
        self._touch(row)

    def init_reported(self, rep: InitReport) -> None:
        self.failed_inits.append(rep)
        self.version += 1

    # ---- the totals -------------------------------------------------------------------------------------

    def summary(self) -> Summary:
        if self._sorted_len != len(self.durations):  # sorted again only when something new came
            self._sorted = sorted(self.durations)
            self._sorted_len = len(self._sorted)
        ordered = self._sorted
        gb_seconds = self.billed_total_ms / 1000 * self.opts.memory / 1024
        return Summary(
            memory_mb=self.opts.memory, requests=self.requests, invocations=self.invocations,
            cold_starts=self.cold_starts, errors=self.errors,
            p50_ms=percentile(ordered, 50), p95_ms=percentile(ordered, 95), p99_ms=percentile(ordered, 99),
            max_ms=ordered[-1] if ordered else None, max_memory_mb=self.max_memory_mb, init_ms=list(self.init_ms),
            failed_inits=list(self.failed_inits), billed_ms=self.billed_total_ms, gb_seconds=gb_seconds,
            request_cost=self.invocations * PRICE_PER_REQUEST, compute_cost=gb_seconds * PRICE_PER_GB_SECOND,
            instances=self.instances, throttles=self.throttles,
        )

    def changed_rows(self, since: int) -> list[dict[str, Any]]:
        return [row.view() for row in self.rows.values() if row.version > since]


@dataclass(slots=True)
class Seen:
    """An instance the dashboard was told of, kept after it died so it can be shown dead (and why)."""

    inst: Instance
    gone_at: float | None = None  # monotonic
    invocations: int = 0


@dataclass(slots=True)
class InstanceWatch:
    """The instances, as the pool's events tell them: started, moved, died. Nothing is sampled."""

    pool: Pool
    seen: dict[int, Seen] = field(default_factory=dict)
    version: int = 0  # bumped by every event, so the page knows something changed

    def __post_init__(self) -> None:
        self.pool.on_start.append(self.started)
        self.pool.watchers.append(self.moved)

    def started(self, inst: Instance) -> None:
        self.seen[inst.number] = Seen(inst)
        self.version += 1

    def moved(self, inst: Instance, was: str, event: str) -> None:
        entry = self.seen.get(inst.number)
        if entry is None or entry.inst is not inst:
            entry = self.seen[inst.number] = Seen(inst)
        if event == "assign":
            entry.invocations += 1
        elif event == "release":  # handed to a request that gave up before its invocation
            entry.invocations -= 1
        if event == "die":
            entry.gone_at = time.monotonic()
            dead = sorted((n for n, e in self.seen.items() if e.gone_at is not None), reverse=True)
            for number in dead[DEAD_KEPT:]:
                del self.seen[number]
        self.version += 1

    def live(self) -> list[Seen]:
        return [e for e in self.seen.values() if e.inst.state != "dead"]


def instance_view(entry: Seen, opts: Options) -> dict[str, Any]:
    """State as the issue names them: initializing, warm (invoking, or idle unfrozen), frozen, dead."""
    inst = entry.inst
    now = time.monotonic()
    pid = inst.proc.pid if inst.proc is not None else None
    if inst.state == "dead":
        state = "dead"
        detail = dead_reason(inst, opts)
        up_s = (entry.gone_at or now) - inst.spawned_at
    else:
        up_s = now - inst.spawned_at
        if inst.state in ("init", "restoring"):
            state, detail = "initializing", f"{up_s:.1f} s into init"
        elif inst.state == "snapshot":
            state, detail = "frozen", "SnapStart snapshot, restored by the next cold start"
        elif inst.state == "busy":
            state, detail = "warm", "invoking"
        elif inst.state == "frozen":
            state, detail = "frozen", f"idle {now - inst.idle_since:.1f} s, SIGSTOPped until the next invocation"
        else:
            state, detail = "warm", f"idle {now - inst.idle_since:.1f} s" + ("" if opts.freeze else " (--no-freeze)")
    return {
        "number": inst.number, "state": state, "detail": detail, "pid": pid, "up_s": round(up_s, 1),
        "init_ms": _round(inst.init_ms), "invocations": entry.invocations,
    }


def dead_reason(inst: Instance, opts: Options) -> str:
    """Why it died, as its last move recorded it."""
    return inst.death.reason if inst.death is not None else "shut down"


class Dashboard:
    """Collects the figures (always: the Ctrl-C summary needs them) and serves them under PREFIX (when on)."""

    def __init__(self, opts: Options, pool: Pool, log: Logger, serve: bool = True) -> None:
        self.opts = opts
        self.pool = pool
        self.log = log
        self.serve = serve
        self.stats = Stats(opts)
        self.stats.watch(log)
        self.instances = InstanceWatch(pool)
        pool.on_start.append(lambda _inst: self.stats.instance_started())
        self._refused: list[tuple[list[str], list[str]]] = []  # Host / Origin pairs refused and noted
        log.on_report.append(self._reported)

    # ---- lifecycle (nothing runs in the background: every figure comes from an event) ---------------------

    def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    # ---- which instance ran what: each invocation and each REPORT names its instance ----------------------

    def invoked(self, request_id: str, inv: Invocation) -> None:
        """The front door has the outcome of `inv`."""
        if inv.instance:
            self.stats.attribute(request_id, inv.instance)

    def throttled(self, request_id: str) -> None:
        """Lambda refused the invocation: no instance for it (the front door answered as it does for a throttle)."""
        self.stats.throttled(request_id)

    def _reported(self, rep: Report) -> None:
        if rep.instance is not None:
            self.stats.attribute(rep.request_id, rep.instance)

    # ---- HTTP -------------------------------------------------------------------------------------------

    def owns(self, raw_path: str) -> bool:
        return self.serve and (raw_path == PREFIX.rstrip("/") or raw_path.startswith(PREFIX))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.raw_path.partition("?")[0]
        hosts, origins = request.headers.getall("Host", []), request.headers.getall("Origin", [])
        if not addressed_to_us(hosts, origins, self.opts.port):
            if len(self._refused) < 8 and (hosts, origins) not in self._refused:  # a polling page: noted once
                self._refused.append((hosts, origins))
                self.log.note(f"dashboard refused (403) to Host {hosts!r}, Origin {origins!r}: only "
                              f"127.0.0.1:{self.opts.port}, localhost:{self.opts.port} or [::1]:{self.opts.port} "
                              "may read it (a page of another site could, by DNS rebinding)")
            return web.Response(status=403, text=f"reweb local: the dashboard answers only a Host of "
                                f"127.0.0.1:{self.opts.port}, localhost:{self.opts.port} or [::1]:{self.opts.port}\n")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD"}, text=_reserved(path, "only GET here"))
        if path == PREFIX.rstrip("/"):
            raise web.HTTPFound(PREFIX)
        if path == PREFIX:
            return self.page()
        if path == STATE_PATH:
            try:
                since = int(request.query.get("since", "0"))
            except ValueError:
                since = 0
            return web.json_response(self.state(since), headers={"Cache-Control": "no-store",
                                                                 "X-Content-Type-Options": "nosniff"})
        return web.Response(status=404, text=_reserved(path, "no such dashboard page"))

    def state(self, since: int = 0) -> dict[str, Any]:
        live = self.instances.live()
        shown = self.instances.seen
        stats = self.stats
        if since > stats.version:
            since = 0  # a client from before a restart: send everything
        opts = self.opts
        return {
            "version": stats.version,
            "since": since,
            "now": round(time.time() * 1000),
            "config": {
                "source": opts.source, "stream": opts.stream, "memory_mb": opts.memory, "timeout_s": opts.timeout,
                "concurrency": self.pool.concurrency,  # the pool's: 1 when instances share a network
                "freeze": opts.freeze, "idle_ttl_s": opts.idle_ttl,
                "function": opts.function_name, "region": opts.region, "port": opts.port,
                "app": " ".join(opts.app_command) or "$REWEB_APPLICATION_EXEC",
            },
            "prices": {
                "per_request": PRICE_PER_REQUEST, "per_million_requests": 0.20, "per_gb_second": PRICE_PER_GB_SECOND,
                "per_gb_second_text": GB_SECOND_TEXT,
                "as_of": PRICES_AS_OF, "arch": "x86_64", "region": "us-east-1", "note": PRICES_NOTE,
            },
            "instances": [instance_view(shown[n], opts) for n in sorted(shown)],
            "live_instances": sum(1 for e in live if e.inst.state != "dead"),
            "invocations": stats.changed_rows(since),
            "rows_kept": ROWS_KEPT,
            "summary": stats.summary().view(),
        }

    def page(self) -> web.Response:
        nonce = secrets.token_urlsafe(16)
        data = json.dumps(self.state(0), separators=(",", ":"))
        data = data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        html = PAGE.replace("{{NONCE}}", nonce).replace("{{STATE}}", data)
        csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src data:; "
               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers={
            "Content-Security-Policy": csp, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        })


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def addressed_to_us(hosts: list[str], origins: list[str], port: int) -> bool:
    """Whether a request may read the dashboard. DNS rebinding lets any site's page reach 127.0.0.1 under the
    site's own name, but its Host still says that name: only a Host naming the listening address is served.
    An Origin, when a browser sends one (cross-origin fetches do), must be that address too: CORS already keeps
    such a page from reading the answer; refusing it outright costs nothing."""
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:  # a browser leaves the default port out
        names.update(LOOPBACK_NAMES)
    if len(hosts) != 1 or hosts[0].lower() not in names or len(origins) > 1:
        return False
    return not origins or origins[0].lower() in {f"http://{name}" for name in names}


def _reserved(path: str, why: str) -> str:
    return (f"reweb local: {path} is reserved for the dashboard ({why}); it is never sent to your app. "
            f"Open {PREFIX}, or set REWEB_LOCAL_DASHBOARD=off to give {PREFIX} back to the app.\n")


PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reweb local: what Lambda would do</title>
<link rel="icon" href="data:,">
<style nonce="{{NONCE}}">
:root { --fg:#1d2430; --muted:#5b6573; --line:#dfe3e8; --bg:#f6f7f9; --card:#fff; --cold:#d9770b;
        --warm:#2f7d32; --frozen:#2b6cb0; --dead:#8a8f98; --err:#c62828; --lat:#2b6cb0; --dur:#7b8794; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--fg); background: var(--bg); }
header { padding: 14px 20px 10px; background: #1d2430; color: #fff; display: flex; align-items: baseline;
         gap: 16px; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header .cfg { color: #c5ccd6; font-size: 13px; }
#live { margin-left: auto; font-size: 13px; }
#live.ok::before { content: "\25CF "; color: #5bd16b; }
#live.down::before { content: "\25CF "; color: #ff6b6b; }
main { padding: 14px 20px 30px; display: grid; gap: 14px; grid-template-columns: 1fr 1fr; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; text-transform: uppercase;
     letter-spacing: .04em; }
.cards { display: grid; grid-template-columns: repeat(7, 1fr); gap: 10px; }
.card.wide { grid-column: span 2; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: #fbfcfd; }
.card .v { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.card .k { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; padding-right: 12px; }
td.path { max-width: 380px; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600;
         color: #fff; }
.s-initializing { background: var(--cold); } .s-warm { background: var(--warm); }
.s-frozen { background: var(--frozen); } .s-dead { background: var(--dead); }
.cold { background: var(--cold); } .warm { background: var(--warm); } .none { background: var(--dead); }
tr.error td { color: var(--err); }
.scroll { max-height: 420px; overflow-y: auto; }
.muted { color: var(--muted); font-size: 12px; }
pre { margin: 0; font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
#chart svg { width: 100%; height: 240px; display: block; }
#chart .axis { stroke: #aab2bd; stroke-width: 1; }
#chart .grid { stroke: #eceff3; stroke-width: 1; }
#chart text { font-size: 11px; fill: var(--muted); }
.legend span { margin-right: 14px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; }
.k-lat { background: var(--lat); } .k-dur { background: var(--dur); } .k-cold { background: var(--cold); }
.k-err { background: var(--err); }
#chart .latline { fill: none; stroke: var(--lat); stroke-width: 1.2; stroke-opacity: .5; }
#chart .dur { fill: var(--dur); } #chart .lat { fill: var(--lat); } #chart .cold { fill: var(--cold); }
#chart .err { fill: var(--err); }
dl.cost { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 8px; }
dl.cost dt { color: var(--muted); } dl.cost dd { margin: 0; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<header>
  <h1>reweb local: what Lambda would do</h1>
  <span class="cfg" id="cfg"></span>
  <span id="live" class="ok">live</span>
</header>
<main>
  <section class="wide">
    <div class="cards" id="cards"></div>
  </section>
  <section>
    <h2>Instances</h2>
    <table id="instances"><thead><tr><th>#</th><th>state</th><th>detail</th><th class="num">pid</th>
      <th class="num">up</th><th class="num">init</th><th class="num">invocations</th></tr></thead>
      <tbody></tbody></table>
    <p class="muted" id="inst-note"></p>
  </section>
  <section>
    <h2>What this traffic would cost on Lambda</h2>
    <dl class="cost" id="cost"></dl>
    <p class="muted" id="prices"></p>
  </section>
  <section class="wide">
    <h2>Latency over time</h2>
    <div class="legend"><span><i class="k-lat"></i>at the front door (what the client waited)</span>
      <span><i class="k-dur"></i>Lambda Duration</span><span><i class="k-cold"></i>cold start</span>
      <span><i class="k-err"></i>error</span><span>log scale</span></div>
    <div id="chart"></div>
  </section>
  <section class="wide">
    <h2>Invocations <span class="muted" id="inv-note"></span></h2>
    <div class="scroll">
    <table id="invocations"><thead><tr><th>time</th><th>method</th><th>path</th><th class="num">status</th>
      <th class="num">latency</th><th class="num">duration</th><th class="num">billed</th>
      <th class="num">memory used</th><th>start</th><th class="num">init</th><th class="num">instance</th>
      <th>error</th></tr></thead><tbody></tbody></table>
    </div>
  </section>
  <section class="wide">
    <h2>Summary (also printed when you stop reweb local with Ctrl-C)</h2>
    <pre id="summary"></pre>
  </section>
</main>
<script type="application/json" id="initial">{{STATE}}</script>
<script nonce="{{NONCE}}">
"use strict";
const SHOWN = 500;
const rows = new Map();
let version = 0, last = null;

function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const kid of kids) node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return node;
}
function svg(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
const ms = v => v === null || v === undefined ? "-" : v.toFixed(2) + " ms";
const short = v => v < 100 ? v.toFixed(1) : v.toFixed(0);
const clock = t => { const d = new Date(t); return d.toLocaleTimeString("en-GB", {hour12: false}) + "." +
  String(d.getMilliseconds()).padStart(3, "0"); };
function fill(tbody, trs) { tbody.replaceChildren(...trs); }

function render(d) {
  const c = d.config, s = d.summary;
  document.getElementById("cfg").textContent = `${c.source} \u2192 Lambda (${c.stream ? "streaming" : "buffered"})` +
    ` \u2192 reweb \u2192 ${c.app} \u00b7 memory ${c.memory_mb} MB \u00b7 timeout ${c.timeout_s} s \u00b7 ` +
    `concurrency ${c.concurrency} \u00b7 freeze ${c.freeze ? "on" : "off"} \u00b7 ${c.function}`;
  const cards = [
    ["invocations", s.invocations], ["cold starts", s.cold_starts], ["errors", s.errors],
    ["p50 / p95 / p99 duration",
     s.invocations ? `${short(s.p50_ms)} / ${short(s.p95_ms)} / ${short(s.p99_ms)} ms` : "-"],
    ["max memory used", s.max_memory_mb === null ? "-" : `${s.max_memory_mb} / ${s.memory_mb} MB`],
    ["cost per 1M requests", s.text.cost_per_million || "-"],
  ];
  fill(document.getElementById("cards"), cards.map(([k, v]) =>
    el("div", {class: k.startsWith("p50") ? "card wide" : "card", "data-k": k}, el("div", {class: "v"}, v),
       el("div", {class: "k"}, k))));

  fill(document.querySelector("#instances tbody"), d.instances.slice().reverse().map(i =>
    el("tr", {"data-state": i.state, "data-instance": i.number}, el("td", {}, i.number),
      el("td", {}, el("span", {class: "badge s-" + i.state}, i.state)), el("td", {}, i.detail),
      el("td", {class: "num"}, i.pid ?? "-"), el("td", {class: "num"}, i.up_s.toFixed(1) + " s"),
      el("td", {class: "num"}, ms(i.init_ms)), el("td", {class: "num"}, i.invocations))));
  document.getElementById("inst-note").textContent = `${d.live_instances} live of at most ${c.concurrency}; ` +
    `idle instances are shut down after ${c.idle_ttl_s} s, as Lambda reclaims idle sandboxes.`;

  const p = d.prices;
  const cost = [
    ["requests", `${s.invocations} \u00d7 $0.20 per 1M = ${s.text.request_cost}`],
    ["compute", `${s.text.gb_seconds} GB-s (${s.billed_ms} ms billed \u00d7 ${s.memory_mb / 1024} GB) ` +
      `\u00d7 ${p.per_gb_second_text} = ${s.text.compute_cost}`],
    ["total", s.text.total_cost],
    ["per 1M requests like these", s.text.cost_per_million || "-"],
  ];
  const dl = document.getElementById("cost");
  dl.replaceChildren(...cost.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {"data-k": k}, v)]));
  document.getElementById("prices").textContent = p.note +
    (c.region !== p.region ? ` Your --region is ${c.region}; these are ${p.region} prices.` : "");

  const shown = [...rows.values()].sort((a, b) => b.seq - a.seq).slice(0, SHOWN);
  fill(document.querySelector("#invocations tbody"), shown.map(r => {
    const start = !r.invoked ? ["not invoked", "none"] : r.cold === null ? ["\u2026", "none"] :
      r.cold ? ["cold", "cold"] : ["warm", "warm"];
    const bad = r.error || (r.status !== null && r.status >= 500);
    return el("tr", {class: bad ? "error" : "", "data-id": r.id, "data-status": r.status ?? "",
                     "data-start": start[0]},
      el("td", {}, clock(r.started)), el("td", {}, r.method), el("td", {class: "path", title: r.path}, r.path),
      el("td", {class: "num"}, r.status ?? (r.answered ? "gone" : "\u2026")),
      el("td", {class: "num"}, ms(r.latency_ms)), el("td", {class: "num"}, ms(r.duration_ms)),
      el("td", {class: "num"}, r.billed_ms === null ? "-" : r.billed_ms + " ms"),
      el("td", {class: "num"}, r.max_used_mb === null ? "-" : r.max_used_mb + " MB"),
      el("td", {}, el("span", {class: "badge " + start[1]}, start[0])), el("td", {class: "num"}, ms(r.init_ms)),
      el("td", {class: "num"}, r.instance ?? "-"), el("td", {}, r.error || ""));
  }));
  document.getElementById("inv-note").textContent = rows.size ?
    `(newest first; the last ${Math.min(rows.size, SHOWN)} of ${s.requests} requests)` : "(none yet: send a request)";
  document.getElementById("summary").textContent = s.lines.join("\n");
  chart(shown.slice().reverse());
}

function chart(data) {
  const W = 1000, H = 240, L = 56, R = 12, T = 10, B = 26;
  const box = document.getElementById("chart");
  const root = svg("svg", {viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
                           "aria-label": "latency over time"});
  const pts = data.filter(r => r.latency_ms !== null || r.duration_ms !== null);
  if (!pts.length) {
    root.append(svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no invocation yet"));
    box.replaceChildren(root);
    return;
  }
  const vals = pts.flatMap(r => [r.latency_ms, r.duration_ms]).filter(v => v !== null).map(v => Math.max(v, 0.1));
  const lo = Math.floor(Math.log10(Math.min(...vals))), hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...vals))));
  const t0 = pts[0].started, t1 = Math.max(pts[pts.length - 1].started, t0 + 1000);
  const x = t => L + (t - t0) / (t1 - t0) * (W - L - R);
  const y = v => T + (hi - Math.log10(Math.max(v, 0.1))) / (hi - lo) * (H - T - B);
  for (let e = lo; e <= hi; e++) {
    root.append(svg("line", {class: "grid", x1: L, x2: W - R, y1: y(10 ** e), y2: y(10 ** e)}));
    const v = 10 ** e;
    root.append(svg("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end"}, v >= 1000 ? v / 1000 + " s" : v + " ms"));
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (t1 - t0) * i / 4;
    root.append(svg("text", {x: x(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle"},
                    clock(t).slice(0, t1 - t0 < 20000 ? 10 : 8)));
  }
  root.append(svg("line", {class: "axis", x1: L, x2: L, y1: T, y2: H - B}));
  root.append(svg("line", {class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B}));
  const line = pts.filter(r => r.latency_ms !== null)
    .map(r => `${x(r.started).toFixed(1)},${y(r.latency_ms).toFixed(1)}`);
  if (line.length > 1) root.append(svg("polyline", {points: line.join(" "), class: "latline"}));
  for (const r of pts) {
    const bad = r.error || (r.status !== null && r.status >= 500);
    if (r.duration_ms !== null)
      root.append(svg("circle", {cx: x(r.started), cy: y(r.duration_ms), r: 2.5, class: "dur"}));
    if (r.latency_ms !== null) {
      const dot = svg("circle", {cx: x(r.started), cy: y(r.latency_ms), r: r.cold ? 5 : 3.5,
                                 class: bad ? "err" : r.cold ? "cold" : "lat"});
      dot.append(svg("title", {}, `${r.method} ${r.path} \u2192 ${r.status ?? "-"}: ${ms(r.latency_ms)}` +
                 (r.cold ? " (cold start)" : "")));
      root.append(dot);
    }
  }
  box.replaceChildren(root);
}

function apply(d) {
  if (d.since === 0) rows.clear();
  for (const r of d.invocations) rows.set(r.seq, r);
  if (rows.size > 2 * SHOWN) {
    for (const k of [...rows.keys()].sort((a, b) => a - b).slice(0, rows.size - SHOWN)) rows.delete(k);
  }
  version = d.version;
  last = d;
  render(d);
}

async function poll() {
  const live = document.getElementById("live");
  try {
    const r = await fetch("api/state?since=" + version, {cache: "no-store"});
    if (!r.ok) throw new Error(r.status);
    apply(await r.json());
    live.className = "ok"; live.textContent = "live";
  } catch (e) {
    live.className = "down"; live.textContent = "reweb local is not answering (stopped?)";
  }
  setTimeout(poll, 1000);
}

apply(JSON.parse(document.getElementById("initial").textContent));
setTimeout(poll, 1000);
</script>
</body>
</html>
"""
