"""Instances as Lambda runs them: one `reweb` process (and its app) per instance, one invocation at a time,
scale-out up to the concurrency limit, a FIFO queue beyond it, freeze between invocations, reaping of
idle instances, replacement of crashed or timed-out ones, and START / END / REPORT lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections import deque
from typing import Literal

from . import netns, procs
from .options import Options
from .report import Logger
from .runtime_api import Errored, Invocation, RuntimeApi

State = Literal["init", "snapshot", "restoring", "idle", "busy", "dead"]


class InitFailed(Exception):
    """The instance started for this invocation never became ready (init error, crash, init timeout)."""

    def __init__(self, error_type: str, cause: str = "") -> None:
        super().__init__(error_type)
        self.error_type = error_type
        self.cause = cause  # the last lines the instance wrote, where the reason usually is


TAIL_LINES = 12
INIT_BACKOFF_FIRST = 1.0  # seconds without a new cold start after an init failure, doubling up to the max
INIT_BACKOFF_MAX = 30.0
RESTORE_TIMEOUT = 10.0  # Lambda's limit for the restore phase (the runtime's after-restore work included)


class Instance:
    def __init__(self, pool: Pool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.api = RuntimeApi(self, pool.log.note)
        self.state: State = "init"
        self.proc: asyncio.subprocess.Process | None = None
        self.pgid = 0
        self.frozen = False
        self.spawned_at = time.monotonic()
        self.init_ms: float | None = None  # set on first /next; reported once, on the first invocation
        self.restore_ms: float | None = None  # SnapStart: from the thaw of the snapshot to the first /next
        self.restore_started = 0.0
        self.init_waited_for = False  # started for a waiting request: its init is that request's, snapshot or not
        self._restored = asyncio.Event()
        self.init_reported = False
        self.idle_since = 0.0
        self.exit_status: int | None = None
        self.exited = asyncio.Event()
        self.extension_registered = False  # set through the Extensions API; decides how shutdown goes
        self.network: netns.Namespace | None = None
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)  # the last lines of output: an init failure's cause
        self._work: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=1)
        self._current: Invocation | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        opts = self.pool.opts
        enter = None
        if self.pool.isolated:  # a network of its own, as on Lambda: the Runtime API socket is made inside it
            self.network = netns.create()
            enter = self.network.enter()
            address = await self.api.start(self.network.runtime_api)
        else:
            address = await self.api.start()
        env = dict(os.environ)
        env.update(lambda_environment(opts, address))
        cmd = [*opts.runtime_command, *(["--", *opts.app_command] if opts.app_command else [])]
        self.spawned_at = time.monotonic()
        # A session of its own: the instance and its app form a process group we can freeze and kill
        # without touching ourselves; stdin closed, as on Lambda.
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, start_new_session=True, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, preexec_fn=procs.bound_to_us(enter),
        )
        self.pgid = self.proc.pid
        self._tasks.append(asyncio.create_task(self._pump_output()))
        self._tasks.append(asyncio.create_task(self._watch_exit()))
        self._tasks.append(asyncio.create_task(self._watch_init()))

    async def _pump_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        prefix = f"[{self.number}] "
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(text)
            self.pool.log.line(prefix + text)

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        status = await self.proc.wait()
        self.exit_status = status
        was = self.state
        self.state = "dead"
        self.exited.set()
        # Whatever was left in the group (the app, if the runtime died alone) goes with it, as the
        # sandbox is torn down on Lambda.
        procs.kill(self.proc.pid, self.pgid)
        reason = f"Runtime exited with error: {exit_text(status)}"
        inv = self._current
        if inv is not None and not inv.finished.is_set():
            inv.settle(Errored("Runtime.ExitError", reason))
        self.pool.instance_gone(self, was, "Runtime.ExitError")

    async def _watch_init(self) -> None:
        timeout = self.pool.opts.init_timeout
        deadline = self.spawned_at + timeout
        while self.state == "init" and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 0.05)
        if self.state == "init":
            self.pool.log.init_report(timeout * 1000, "timeout")
            self.pool.instance_gone(self, "init", "Runtime.InitTimeout")
            await self.stop(graceful=False)

    async def stop(self, graceful: bool = True) -> None:
        """Shut down as Lambda does: thaw; if an extension registered (reweb registers itself), SIGTERM and up
        to 500 ms; then SIGKILL the whole tree; close the Runtime API."""
        if self.proc is not None and self.proc.returncode is None:
            procs.thaw(self.proc.pid, self.pgid)
            self.frozen = False
            if graceful and self.extension_registered:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pgid, signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.exited.wait(), SHUTDOWN_MS / 1000)
            procs.kill(self.proc.pid, self.pgid)
        if self.proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 5.0)
        await self.api.close()
        if self.network is not None:
            self.network.close()
        for task in self._tasks:
            task.cancel()

    def kill_now(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            procs.kill(self.proc.pid, self.pgid)

    # ---- what the Runtime API asks of us ---------------------------------------------------------------

    async def next_invocation(self) -> Invocation:
        if self.state == "init":
            self.init_ms = (time.monotonic() - self.spawned_at) * 1000
            self.pool.init_succeeded()
        elif self.state == "restoring":
            self.restore_ms = (time.monotonic() - self.restore_started) * 1000
            self.pool.init_succeeded()
        elif self._current is not None and not self._current.finished.is_set():
            # /next without answering the previous invocation: Lambda counts it as a failure.
            self._current.settle(Errored("Runtime.NoResponse", "the runtime asked for more work instead"))
        self._current = None
        if self.state != "dead":
            self.state = "idle"
            self.pool.instance_idle(self)
        inv = await self._work.get()
        self._current = inv
        return inv

    def current(self) -> Invocation | None:
        return self._current

    async def restore_next(self) -> bool:
        """SnapStart: the runtime is initialised and waits to be snapshotted. This instance becomes the snapshot
        (frozen) until the pool restores it; False when this is no SnapStart instance."""
        if not self.pool.opts.snapstart or self.state != "init":
            return False
        self.init_ms = (time.monotonic() - self.spawned_at) * 1000
        self.state = "snapshot"
        self.pool.snapshot_ready(self)
        await self._restored.wait()
        return True

    def restore(self) -> None:
        """Thaw the snapshot and let its runtime go on (its restore/next call returns)."""
        if self.proc is not None:
            procs.thaw(self.proc.pid, self.pgid)
        self.frozen = False
        self.state = "restoring"
        self.restore_started = time.monotonic()
        self._restored.set()
        self._tasks.append(asyncio.create_task(self._watch_restore()))

    async def _watch_restore(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.exited.wait(), RESTORE_TIMEOUT)
        if self.state == "restoring":
            self.restore_failed("Runtime.RestoreTimeout")

    def restore_failed(self, error_type: str) -> None:
        ms = (time.monotonic() - self.restore_started) * 1000
        self.pool.log.line(f"RESTORE_REPORT Restore Duration: {ms:.2f} ms\tStatus: error\tError Type: {error_type}")
        self.pool.instance_gone(self, "init", error_type)
        self.kill_now()

    def init_failed(self, error_type: str) -> None:
        self.pool.log.init_report((time.monotonic() - self.spawned_at) * 1000, "error", error_type)
        self.pool.instance_gone(self, self.state, error_type)
        self.kill_now()

    # ---- what the pool asks ----------------------------------------------------------------------------

    def freeze(self) -> None:
        if self.pool.opts.freeze and self.proc is not None and self.state == "idle":
            procs.freeze(self.proc.pid, self.pgid)
            self.frozen = True

    def assign(self, inv: Invocation) -> None:
        if self.frozen and self.proc is not None:
            procs.thaw(self.proc.pid, self.pgid)
            self.frozen = False
        self.state = "busy"
        self._work.put_nowait(inv)


class Pool:
    def __init__(self, opts: Options, log: Logger) -> None:
        self.opts = opts
        self.log = log
        self.isolated = opts.network == "isolated"
        self.concurrency = opts.concurrency
        if self.isolated and (why := netns.available()):
            self.isolated = False
            self.log.note(f"instances cannot have networks of their own here ({why}; needs root or CAP_SYS_ADMIN): "
                          "one instance at a time on this machine's network")
        if not self.isolated and self.concurrency > 1:
            self.concurrency = 1  # one app port on one network: a second instance could not listen
            if opts.network == "shared":
                self.log.note(f"--network shared: the app's port {opts.app_port} is on this machine's network, so "
                              "one instance at a time (--concurrency 1)")
        # Init failures back off instead of starting a new instance for every request.
        self.init_failures = 0
        self.init_retry_at = 0.0
        self.init_failure: InitFailed | None = None
        self.instances: list[Instance] = []
        self.idle: list[Instance] = []  # most recently used last: warm reuse takes it first
        self.waiters: deque[asyncio.Future[Instance]] = deque()
        self.spawned = 0
        self._born_for: dict[Instance, asyncio.Future[Instance]] = {}
        self.snapshot: Instance | None = None  # SnapStart: an initialised instance, frozen, to restore from
        self.preparing: Instance | None = None  # SnapStart: the instance on its way to become the snapshot
        self._reaper: asyncio.Task[None] | None = None
        self._supervisors: set[asyncio.Task[None]] = set()
        self.closing = False

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap())
        self.prepare_snapshot()  # as Lambda snapshots a version when it is published, before any request

    # ---- SnapStart -------------------------------------------------------------------------------------
    # Lambda restores any number of sandboxes from one snapshot. A process tree cannot be cloned here, so each
    # restore uses its own snapshot, made ahead of time (init and the before-checkpoint hook, then frozen) and
    # replaced in the background once used, where the network leaves room for a second instance. What a
    # request waits for is what it waits for on Lambda: the restore, not the init.

    def prepare_snapshot(self) -> None:
        if (not self.opts.snapstart or self.closing or self.snapshot is not None or self.preparing is not None
                or self.live >= self.concurrency or self.backing_off):
            return
        task = asyncio.create_task(self._spawn(None))
        self._supervisors.add(task)
        task.add_done_callback(self._supervisors.discard)

    def snapshot_ready(self, inst: Instance) -> None:
        if self.preparing is inst:
            self.preparing = None
        born_for = self._born_for.get(inst)
        if born_for is None or born_for.done():
            waiting = next((w for w in self.waiters if not w.done() and w not in self._born_for.values()), None)
            if waiting is not None:  # a request arrived while the snapshot was being made: it is restored at once
                self._born_for[inst] = waiting
                born_for = waiting
                inst.init_waited_for = True
        if born_for is not None and not born_for.done():
            inst.restore()
            return
        assert inst.proc is not None
        procs.freeze(inst.proc.pid, inst.pgid)
        inst.frozen = True
        self.snapshot = inst
        self.log.note(f"SnapStart: snapshot ready (instance {inst.number}, init {inst.init_ms or 0:.0f} ms, done "
                      "ahead of the requests); cold starts restore it")

    @property
    def live(self) -> int:
        return sum(1 for i in self.instances if i.state != "dead")

    @property
    def backing_off(self) -> bool:
        return self.init_failure is not None and time.monotonic() < self.init_retry_at

    def _init_failed(self, inst: Instance, error_type: str) -> InitFailed:
        """Record an init failure with its cause; no new cold start for a while (doubling each time)."""
        cause = "\n".join(inst.tail)
        self.init_failures += 1
        backoff = min(INIT_BACKOFF_FIRST * 2 ** (self.init_failures - 1), INIT_BACKOFF_MAX)
        self.init_retry_at = time.monotonic() + backoff
        self.init_failure = InitFailed(error_type, cause)
        shown = "\n".join(f"    {line}" for line in inst.tail) or "    (no output)"
        self.log.note(f"init failed ({error_type}), failure {self.init_failures} in a row; the instance's last "
                      f"output:\n{shown}\nreweb local: no new instance for {backoff:g} s: requests until then get "
                      "this error at once")
        return self.init_failure

    def init_succeeded(self) -> None:
        self.init_failures, self.init_retry_at, self.init_failure = 0, 0.0, None

    async def acquire(self) -> Instance:
        """A warm idle instance, or a new one (cold start) while under the limit, or wait in line."""
        while self.idle:
            inst = self.idle.pop()
            if inst.state == "idle":
                return inst
        failure = self.init_failure
        if failure is not None and self.backing_off and not self.live:
            raise InitFailed(failure.error_type, failure.cause)
        fut: asyncio.Future[Instance] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        snapshot, self.snapshot = self.snapshot, None
        if snapshot is not None and snapshot.state == "snapshot":
            self._born_for[snapshot] = fut
            snapshot.restore()
            self.prepare_snapshot()  # the next cold start restores too, where there is room for another
        elif self.live < self.concurrency and not self.backing_off:
            await self._spawn(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            # Given up (the gateway timed out): an instance handed over at that moment goes back.
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.instance_idle(fut.result())
            raise
        finally:
            with contextlib.suppress(ValueError):
                self.waiters.remove(fut)

    async def _spawn(self, born_for: asyncio.Future[Instance] | None) -> None:
        """A new instance, started for a waiting request (`born_for`) or, under SnapStart, to be the snapshot."""
        self.spawned += 1
        inst = Instance(self, self.spawned)
        self.instances.append(inst)
        if born_for is not None:
            self._born_for[inst] = born_for
            inst.init_waited_for = True
        elif self.opts.snapstart:
            self.preparing = inst
        try:
            await inst.start()
        except OSError as exc:
            self.log.note(f"cannot start an instance: {exc}")
            self.instance_gone(inst, "init", "Runtime.InvalidEntrypoint")

    def instance_idle(self, inst: Instance) -> None:
        self._born_for.pop(inst, None)
        inst.idle_since = time.monotonic()
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(inst)
                inst.state = "busy"  # reserved; assign() follows right away
                return
        self.idle.append(inst)
        inst.freeze()

    def instance_gone(self, inst: Instance, was: str, error_type: str) -> None:
        if inst.state != "dead":
            inst.state = "dead"
        if self.snapshot is inst:
            self.snapshot = None
        if self.preparing is inst:
            self.preparing = None
        with contextlib.suppress(ValueError):
            self.idle.remove(inst)
        with contextlib.suppress(ValueError):
            self.instances.remove(inst)
        born_for = self._born_for.pop(inst, None)
        if was == "init":
            failure = self._init_failed(inst, error_type)
            if born_for is not None and not born_for.done():
                born_for.set_exception(failure)
            if not self.live:  # nobody left to serve those waiting: they get the same answer, at once
                for fut in self.waiters:
                    if not fut.done():
                        fut.set_exception(InitFailed(failure.error_type, failure.cause))
        # Someone may still be waiting for capacity this instance held.
        if not self.closing and self.waiters and self.live < self.concurrency and not self.backing_off:
            waiting = next((w for w in self.waiters if not w.done() and w not in self._born_for.values()), None)
            if waiting is not None:
                task = asyncio.create_task(self._spawn(waiting))
                self._supervisors.add(task)
                task.add_done_callback(self._supervisors.discard)

    async def invoke(self, event: bytes, request_id: str, trace_id: str) -> Invocation:
        """Hand the event to an instance; the returned invocation settles with the outcome.

        Raises InitFailed when the instance started for it could not initialise.
        """
        inst = await self.acquire()
        now_ms = int(time.time() * 1000)
        inv = Invocation(
            request_id=request_id,
            event=event,
            deadline_ms=now_ms + int(self.opts.timeout * 1000),
            trace_id=f"{trace_id};Parent={secrets.token_hex(8)};Sampled=0",
            function_arn=f"arn:aws:lambda:{self.opts.region}:123456789012:function:{self.opts.function_name}",
        )
        task = asyncio.create_task(self._supervise(inst, inv))
        self._supervisors.add(task)
        task.add_done_callback(self._supervisors.discard)
        inst.assign(inv)
        return inv

    async def _supervise(self, inst: Instance, inv: Invocation) -> None:
        """Enforce the function timeout and the memory size; write START / END / REPORT."""
        assert inst.proc is not None
        self.log.start(inv.request_id)
        started = time.monotonic()
        deadline = started + self.opts.timeout
        status: str | None = None
        error_type: str | None = None
        peak = 0
        while not inv.finished.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self.log.timed_out(inv.request_id, self.opts.timeout)
                inv.settle(Errored("Sandbox.Timedout", f"Task timed out after {self.opts.timeout:.2f} seconds"))
                status = "timeout"
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inv.finished.wait(), min(left, 0.1))
            if inv.finished.is_set():
                break  # before another memory sample: its /proc walk is not the function's time
            peak = max(peak, procs.tree_rss_mib(inst.proc.pid))
            if peak > self.opts.memory and not inv.finished.is_set():
                inv.settle(Errored("Runtime.OutOfMemory", "Runtime exited with error: signal: killed"))
                status, error_type = "error", "Runtime.OutOfMemory"
                break
        duration = (time.monotonic() - started) * 1000
        if status is not None:
            # Timed out or out of memory: the sandbox is destroyed; the next request cold-starts.
            self.instance_gone(inst, "busy", error_type or "Sandbox.Timedout")
            inst.kill_now()
        elif inst.state == "dead" and inst.exit_status is not None:
            status, error_type = "error", "Runtime.ExitError"
        peak = max(peak, procs.tree_peak_mib(inst.proc.pid), 1)
        init_ms = restore_ms = None
        if not inst.init_reported:
            inst.init_reported = True
            restore_ms = inst.restore_ms
            if restore_ms is None or inst.init_waited_for:  # a snapshot made ahead of time is nobody's init
                init_ms = inst.init_ms
        self.log.end(inv.request_id)
        self.log.report(inv.request_id, duration_ms=duration, memory_mb=self.opts.memory,
                        max_used_mb=min(peak, self.opts.memory), init_ms=init_ms, restore_ms=restore_ms, status=status,
                        error_type=error_type, instance=inst.number)

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.opts.idle_ttl / 4))
            now = time.monotonic()
            for inst in list(self.idle):
                if inst.state == "idle" and now - inst.idle_since >= self.opts.idle_ttl:
                    self.idle.remove(inst)
                    inst.state = "dead"
                    self.instances.remove(inst)
                    self.log.note(f"instance {inst.number} idle for {self.opts.idle_ttl:g}s, shut down")
                    task = asyncio.create_task(inst.stop())
                    self._supervisors.add(task)
                    task.add_done_callback(self._supervisors.discard)
                    task.add_done_callback(lambda _t: self.prepare_snapshot())  # its port is free again

    async def close(self) -> None:
        """Stop every instance (apps included) and wait until they are gone."""
        self.closing = True
        if self._reaper is not None:
            self._reaper.cancel()
        everyone = list(self.instances)
        for fut in self.waiters:
            if not fut.done():
                fut.set_exception(InitFailed("Runtime.Shutdown"))
        await asyncio.gather(*(inst.stop() for inst in everyone), return_exceptions=True)
        for task in list(self._supervisors):
            task.cancel()


def lambda_environment(opts: Options, runtime_api: str) -> dict[str, str]:
    day = time.strftime("%Y/%m/%d", time.gmtime())
    env = {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": opts.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(opts.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{opts.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{day}/[$LATEST]{secrets.token_hex(16)}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if opts.snapstart else "on-demand",
        "AWS_REGION": opts.region,
        "AWS_DEFAULT_REGION": opts.region,
        "TZ": ":UTC",
    }
    if opts.stream:
        env["REWEB_INVOKE_MODE"] = "response_stream"
    # The same port in every instance: each has a network of its own (or, sharing this machine's, runs alone).
    env["REWEB_APPLICATION_PORT"] = env["PORT"] = str(opts.app_port)
    env.pop("AWS_LWA_PORT", None)
    return env
SHUTDOWN_MS = 500  # Lambda's shutdown phase with an internal extension registered (0 ms without any)


_SIGNAL_TEXT = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault",
                signal.SIGABRT: "aborted", signal.SIGINT: "interrupt"}


def exit_text(status: int) -> str:
    """Go-style, as Lambda words it: "exit status 1", "signal: killed"."""
    if status < 0:
        sig = signal.Signals(-status)
        return f"signal: {_SIGNAL_TEXT.get(sig, sig.name.lower())}"
    return f"exit status {status}"
