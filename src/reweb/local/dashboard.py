"""What Lambda would do with the traffic seen: the dashboard at /__reweb/ and the summary printed at Ctrl-C.

This module is the HTTP side: who may read the dashboard (addressed_to_us), its routes, its state document and
its page. What is shown comes from rows.py (the requests, invocations and instances, fed by events) and
figures.py (prices, costs, percentiles, the summary's lines).

The page (dashboard.html, package data) is one HTML document with its script and style inline (a nonce'd
Content-Security-Policy forbids anything else, so nothing can load from outside 127.0.0.1); it polls
/__reweb/api/state once a second.
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from importlib import resources
from typing import Any

from aiohttp import web

# Re-exported: main.py, bench/load_test.py and the tests name them here.
from .figures import (
    GB_SECOND_TEXT,
    PRICE_PER_GB_SECOND,
    PRICE_PER_REQUEST,
    PRICES_AS_OF,
    money,
    percentile,
    prices_view,
    summary_lines,
)
from .instances import Pool
from .options import Options
from .report import Logger, Report
from .rows import ROWS_KEPT, InstanceWatch, Stats, instance_view
from .runtime_api import Invocation

__all__ = ["GB_SECOND_TEXT", "PREFIX", "PRICES_AS_OF", "PRICE_PER_GB_SECOND", "PRICE_PER_REQUEST", "STATE_PATH",
           "Dashboard", "Stats", "addressed_to_us", "money", "page_template", "percentile", "summary_lines"]

# The reserved prefix: never passed to the app while the dashboard is on (REWEB_LOCAL_DASHBOARD=off frees it).
PREFIX = "/__reweb/"
STATE_PATH = PREFIX + "api/state"


@functools.cache
def page_template() -> str:
    """The page, with {{NONCE}} and {{STATE}} to fill in (shipped beside this module as package data)."""
    return resources.files(__package__).joinpath("dashboard.html").read_text(encoding="utf-8")


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
        if serve:
            page_template()  # read now: a page missing from the installed package fails at start, not at first view
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
            "prices": prices_view(),
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
        html = page_template().replace("{{NONCE}}", nonce).replace("{{STATE}}", data)
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
