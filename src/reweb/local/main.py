"""`reweb local`: parse options, start the front door and the pool, stop everything on Ctrl-C/SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import sys

from aiohttp import web

from .gateways import gateway_for
from .instances import APP_PORT_VARS, Pool
from .options import Options, UsageError, parse
from .report import Logger
from .server import FrontDoor


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


async def serve(opts: Options, log: Logger | None = None, ready: asyncio.Event | None = None) -> int:
    log = log or Logger()
    gateway = gateway_for(opts.source)
    pool = Pool(opts, log)
    runner = web.AppRunner(FrontDoor(opts, pool, gateway, log).app(), access_log=None,
                           handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, "127.0.0.1", opts.port)  # loopback only, never 0.0.0.0
        try:
            await site.start()
        except OSError as exc:
            log.note(f"cannot listen on 127.0.0.1:{opts.port}: {exc.strerror}")
            return 1
        pool.start()
        banner(log, opts, gateway.name)
        if ready is not None:
            ready.set()
        await stop.wait()
        log.note("stopping: shutting down every instance and app")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await pool.close()
        await runner.cleanup()
    return 0


def banner(log: Logger, opts: Options, source: str) -> None:
    app = shlex.join(opts.app_command) if opts.app_command else "$REWEB_APPLICATION_EXEC"
    mode = "response streaming" if opts.stream else "buffered"
    log.note(f"{source} -> Lambda ({mode}) -> reweb -> {app}")
    log.note(f"concurrency {opts.concurrency}, timeout {opts.timeout:g} s, memory {opts.memory} MB, "
             f"freeze {'on' if opts.freeze else 'off'}")
    if opts.concurrency > 1 and any(os.environ.get(v) for v in APP_PORT_VARS):
        log.note("the app port is fixed by the environment: instances will share it, so keep --concurrency 1")
    log.note(f"ready: open http://127.0.0.1:{opts.port}/ in your browser (Ctrl-C stops everything)")
