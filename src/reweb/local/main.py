"""`reweb local`: parse options, start the front door and the pool, stop everything on Ctrl-C/SIGTERM/SIGHUP."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web

from . import tls
from .dashboard import PREFIX, Dashboard, summary_lines
from .gateways import gateway_for
from .instances import Pool
from .options import Options, UsageError, parse
from .report import Logger
from .server import FrontDoor

# Ctrl-C, kill, and the terminal closed (SIGHUP) all stop everything: instances live in sessions of their own,
# so no terminal signal reaches them, and left alone (frozen ones stopped) they would keep the app's port.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str]) -> int:
    try:
        opts = parse(argv)
    except UsageError as exc:
        print(f"reweb local: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(serve(opts))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


def dashboard_wanted(env: dict[str, str] | None = None) -> bool:
    """REWEB_LOCAL_DASHBOARD=off (or 0, false, no) gives the reserved prefix back to the app."""
    value = (os.environ if env is None else env).get("REWEB_LOCAL_DASHBOARD", "on")
    return value.strip().lower() not in ("0", "off", "false", "no")


async def serve(opts: Options, log: Logger | None = None, ready: asyncio.Event | None = None) -> int:
    log = log or Logger()
    gateway = gateway_for(opts.source, stream=opts.stream)
    pool = Pool(opts, log)
    dashboard = Dashboard(opts, pool, log, serve=dashboard_wanted())
    runner = web.AppRunner(FrontDoor(opts, pool, gateway, log, dashboard).app(), access_log=None,
                           handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        ca, context = None, None
        if opts.https:
            try:
                material = await asyncio.to_thread(tls.ensure, tls.cache_dir())
                context = tls.server_context(material)
            except (tls.TlsError, OSError, ssl.SSLError) as exc:
                log.note(f"--https: cannot make or load the certificate: {exc}")
                return 1
            ca = material.ca
        site = web.TCPSite(runner, "127.0.0.1", opts.port, ssl_context=context)  # loopback only, never 0.0.0.0
        try:
            await site.start()
        except OSError as exc:
            log.note(f"cannot listen on 127.0.0.1:{opts.port}: {exc.strerror}")
            return 1
        pool.start()
        dashboard.start()
        banner(log, opts, gateway.name, dashboard.serve, pool, ca)
        if ready is not None:
            ready.set()
        await stop.wait()
        log.note("stopping: shutting down every instance and app")
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        await dashboard.close()
        await pool.close()
        await runner.cleanup()
    if stop.is_set():  # what the traffic seen would be on Lambda (not when we could not even listen)
        for line in summary_lines(dashboard.stats.summary()):
            log.note(line)
    return 0


def banner(log: Logger, opts: Options, source: str, dashboard: bool = False, pool: Pool | None = None,
           ca: Path | None = None) -> None:
    scheme = "https" if opts.https else "http"
    app = shlex.join(opts.app_command) if opts.app_command else "$REWEB_APPLICATION_EXEC"
    mode = "response streaming" if opts.stream else "buffered"
    # What the pool really does (a host without namespaces runs one instance on its own network).
    concurrency = pool.concurrency if pool is not None else opts.concurrency
    isolated = pool.isolated if pool is not None else opts.network == "isolated"
    log.note(f"{source} -> Lambda ({mode}) -> reweb -> {app}")
    log.note(f"concurrency {concurrency}, timeout {opts.timeout:g} s, memory {opts.memory} MB, "
             f"freeze {'on' if opts.freeze else 'off'}")
    log.note(f"the app listens on port {opts.app_port} in each instance ("
             + ("a network of its own per instance, as on Lambda)" if isolated else "this machine's network)"))
    if dashboard:
        log.note(f"dashboard: {scheme}://127.0.0.1:{opts.port}{PREFIX} (what Lambda would do and bill; {PREFIX} "
                 "is reserved for it, REWEB_LOCAL_DASHBOARD=off passes it to the app)")
    if ca is not None:
        for line in tls.trust_lines(ca, opts.port):
            log.note(line)
    log.note(f"ready: open {scheme}://127.0.0.1:{opts.port}/ in your browser (Ctrl-C stops everything)")
