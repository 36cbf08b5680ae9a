"""Lambda SnapStart (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start): the app's hooks around the snapshot and the
Runtime API's restore flow.

After init: POST the app's before-checkpoint hook (AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH), close every
connection, and wait in GET /runtime/restore/next while Lambda snapshots the sandbox. That call returns in a
restored sandbox, maybe days later and one of many copies: nothing opened before it is used again (fresh
connections to the app and to the Runtime API), then the after-restore hook (AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH)
runs before the first invocation. A failing hook fails init (before) or the restore (after), naming the hook.
Loaded only under SnapStart.
"""

from __future__ import annotations

import time

from .config import Settings
from .http import HttpRequest
from .log import Log
from .runtime import RuntimeClient
from .upstream import Upstream, UpstreamError

HOOK_TIMEOUT = 10.0  # seconds: Lambda gives an after-restore hook 10 s; the same bound for the one before
HOOK_BODY_LIMIT = 64 * 1024


class HookFailed(Exception):
    pass


def call_hook(settings: Settings, path: str, which: str) -> float:
    """POST the app's hook on a connection of its own, closed afterwards; the ms it took. Any answer but 2xx
    (or none within HOOK_TIMEOUT) raises HookFailed naming the hook."""
    upstream = Upstream(settings.port, settings.host)
    started = time.monotonic()
    request = HttpRequest("POST", path, "", [("Host", settings.authority(settings.port)),
                                             ("User-Agent", "reweb-snapstart"), ("X-Reweb-Snapstart", which)])
    try:
        response = upstream.exchange(request, started + HOOK_TIMEOUT, HOOK_BODY_LIMIT)
    except UpstreamError as exc:
        raise HookFailed(f"the app's {which} hook POST {path} failed: {exc.detail}") from None
    finally:
        upstream.close()
    if not 200 <= response.status < 300:
        body = response.body[:300].decode("utf-8", "replace").strip()
        raise HookFailed(f"the app's {which} hook POST {path} answered {response.status}"
                         + (f": {body}" if body else ""))
    return (time.monotonic() - started) * 1000


def _hook(settings: Settings, path: str, which: str, log: Log) -> str:
    """Run one hook if it is set: "" when it is done (or not set), else why it failed (logged already)."""
    if not path:
        return ""
    try:
        ms = call_hook(settings, path, which)
    except HookFailed as exc:
        log.error(f"SnapStart: the {which} hook failed", reason=str(exc))
        return f"reweb: {exc}"
    log.info(f"SnapStart: {which} hook done", path=path, ms=round(ms, 1))
    return ""


def checkpoint_and_restore(settings: Settings, address: str, log: Log) -> bool:
    """Run the snapshot's part of the lifecycle; False when it failed (already reported to Lambda)."""
    failure = _hook(settings, settings.snapstart_before_checkpoint_path, "before-checkpoint", log)
    if failure:
        RuntimeClient(address).phase_error("init", "Runtime.BeforeCheckpointError", failure, log)
        return False
    client = RuntimeClient(address)
    log.info("SnapStart: waiting for the snapshot")
    try:
        client.restore_next()
    except Exception as exc:
        log.error("SnapStart: the Runtime API's restore/next failed", reason=f"{type(exc).__name__}: {exc}")
        return False
    client.conn.close()  # a connection from before the snapshot is never used after it
    log.info("SnapStart: restored")
    failure = _hook(settings, settings.snapstart_after_restore_path, "after-restore", log)
    if failure:
        RuntimeClient(address).phase_error("restore", "Runtime.AfterRestoreError", failure, log)
        return False
    return True
