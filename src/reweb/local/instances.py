"""Instances as Lambda runs them: one `reweb` process (and its app) per instance, one invocation at a time, each in
a sandbox of its own (network, /tmp, memory: netns.py, sandbox.py); freeze between invocations, reaping of idle
instances, replacement of crashed or timed-out ones, and START / END / REPORT lines.

Scaling, as Lambda documents it (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html): a request
that finds no idle instance starts one and is served by that one, after its init; past the concurrency limit
(--concurrency, as reserved concurrency) it is throttled at once, and so is a new instance past the concurrency
scaling rate (1,000 execution environments every 10 seconds per function, refilled continuously). Only where this
machine cannot run instances side by side (one network for all) do requests wait in line instead.

An instance is busy until its runtime asks for the next event: Lambda's Invoke phase "ends after the runtime and all
extensions signal that they are done by sending a Next API request", and "the function's timeout setting limits the
duration of the entire Invoke phase" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
Its client may have the whole answer before that: the instance is then `answered`. A request in that window takes
an idle instance, else starts one while the limit allows, else waits for an answered instance's /next (one request
per answered instance; none to wait for: throttled). The wait is bounded: an instance still answered at its
invocation's deadline (or NEXT_GRACE after its answer, if that is later) is reset, as Lambda resets an environment
whose Invoke phase times out, and the request in line gets the room it frees (docs/local.md, "Answered, not yet
asking for more").

Every instance's life is one state machine: `Instance.move(event, reason)` takes the only transitions TRANSITIONS
allows (as h11's _state.py keeps every transition in one table), records why an instance died, and tells whoever
watches (the pool's bookkeeping, the dashboard).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Literal

from . import netns, procs, sandbox
from .options import Options
from .report import Logger
from .runtime_api import Errored, Invocation, RuntimeApi

State = Literal["init", "snapshot", "restoring", "idle", "frozen", "busy", "answered", "dead"]
Event = Literal["ready", "checkpoint", "restore", "freeze", "assign", "release", "answer", "done", "die"]

# Every legal move: (state, event) -> next state. "die" is legal from every state but dead.
TRANSITIONS: dict[tuple[State, Event], State] = {
    ("init", "ready"): "idle",  # the runtime's first /next: init done
    ("init", "checkpoint"): "snapshot",  # SnapStart: init and the before-checkpoint hook done, frozen as the snapshot
    ("snapshot", "restore"): "restoring",  # thawed for a request: the after-restore hook runs
    ("restoring", "ready"): "idle",
    ("idle", "freeze"): "frozen",  # SIGSTOPped between invocations
    ("idle", "assign"): "busy",  # given to a request (thawed first when frozen)
    ("frozen", "assign"): "busy",
    ("busy", "release"): "idle",  # given to a request that gave up before its invocation began
    # The runtime has answered (a whole payload, an error, a stream's end; or the front door's client has every byte
    # of a streamed answer): the client may ask again at once, but the instance is still in its Invoke phase.
    ("busy", "answer"): "answered",
    ("answered", "done"): "idle",  # the runtime asked for the next invocation: its Invoke phase is over
    ("busy", "done"): "idle",  # asked for more with nothing given to it yet that it could answer
}
for _state in ("init", "snapshot", "restoring", "idle", "frozen", "busy", "answered"):
    TRANSITIONS[(_state, "die")] = "dead"


class IllegalMove(Exception):
    """A transition TRANSITIONS does not allow: a bug in the emulator, never the app's doing."""


@dataclass(frozen=True, slots=True)
class Death:
    """Why an instance died, as the dashboard shows it; error_type as Lambda names it (None: shut down by us)."""

    was: State
    reason: str
    error_type: str | None = None


class InitFailed(Exception):
    """The instance started for this invocation never became ready (init error, crash, init timeout)."""

    def __init__(self, error_type: str, cause: str = "") -> None:
        super().__init__(error_type)
        self.error_type = error_type
        self.cause = cause  # the last lines the instance wrote, where the reason usually is


class Throttled(Exception):
    """No instance for this request: the concurrency limit, or the scaling rate (Lambda's TooManyRequestsException)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


TAIL_LINES = 12
INIT_BACKOFF_FIRST = 1.0  # seconds without a new cold start after an init failure, doubling up to the max
INIT_BACKOFF_MAX = 30.0
RESTORE_TIMEOUT = 10.0  # Lambda's limit for the restore phase (the runtime's after-restore work included)
# How long after its answer an instance may still call /next when that is past its invocation's deadline. The answer
# (POST .../response) and the /next are round trips through this emulator's own event loop, which also serves the
# front door and every other instance: an answer given in time must not be punished for that. Far above a loopback
# round trip even on a loaded machine, yet under Lambda's smallest timeout (1 s): little room for more work.
NEXT_GRACE = 0.5
# Lambda's concurrency scaling rate, per function: 1,000 new execution environments every 10 seconds, refilled
# continuously, unused rate not accumulated (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html).
BURST_CAPACITY = 1000
BURST_REFILL_PER_S = 100.0


class ScalingRate:
    """A token bucket of new execution environments: BURST_CAPACITY at most, BURST_REFILL_PER_S back each second."""

    def __init__(self, now: float | None = None) -> None:
        self.tokens = float(BURST_CAPACITY)
        self.at = time.monotonic() if now is None else now

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(float(BURST_CAPACITY), self.tokens + (now - self.at) * BURST_REFILL_PER_S)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


Watcher = Callable[["Instance", State, Event], None]


class Instance:
    def __init__(self, pool: Pool, number: int, cause: Literal["request", "snapshot"]) -> None:
        self.pool = pool
        self.number = number
        self.cause = cause  # started for a request (its init is that request's), or as SnapStart's snapshot
        self.api = RuntimeApi(self, pool.log.note)
        self.state: State = "init"
        self.death: Death | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.pgid = 0
        self.spawned_at = time.monotonic()
        self.init_ms: float | None = None  # set on first /next; reported once, on the first invocation
        self.restore_ms: float | None = None  # SnapStart: from the thaw of the snapshot to the first /next
        self.restore_started = 0.0
        self._restored = asyncio.Event()
        self.invocations = 0
        self.idle_since = 0.0
        self.exit_status: int | None = None
        self.exited = asyncio.Event()
        self.extension_registered = False  # set through the Extensions API; decides how shutdown goes
        self.network: netns.Namespace | None = None
        self.mounts: sandbox.Mounts | None = None
        self.cgroup: sandbox.Cgroup | None = None
        self.sessions: set[int] = set()  # where there is no cgroup nor mount namespace: its sessions and groups
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)  # the last lines of output: an init failure's cause
        self._work: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=1)
        self._current: Invocation | None = None
        self._given: Invocation | None = None  # the last invocation given to it
        self.phase_over = asyncio.Event()  # cleared when it answers, set when it leaves "answered" (/next, death)
        self._tasks: list[asyncio.Task[None]] = []

    # ---- the state machine ------------------------------------------------------------------------------

    def move(self, event: Event, reason: str = "", error_type: str | None = None) -> State:
        """Take the transition `event` from the current state, or raise IllegalMove; tell the watchers."""
        was = self.state
        new = TRANSITIONS.get((was, event))
        if new is None:
            raise IllegalMove(f"instance {self.number}: {event!r} in state {was!r}")
        if event == "die":
            self.death = Death(was, reason or "shut down", error_type)
        self.state = new
        if event == "answer":
            self.phase_over.clear()
        elif was == "answered":
            self.phase_over.set()
        self.pool.tell(self, was, event)
        return new

    def die(self, reason: str, error_type: str | None = None) -> bool:
        """Move to dead unless already there (an exit noticed after we killed it); True when this call did it."""
        if self.state == "dead":
            return False
        self.move("die", reason, error_type)
        return True

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        pool, opts = self.pool, self.pool.opts
        joins: list[Callable[[], None]] = []
        if pool.isolated:  # a network of its own, as on Lambda: the Runtime API socket is made inside it
            self.network = netns.create()
            joins.append(self.network.enter())
            address = await self.api.start(self.network.runtime_api)
        else:
            address = await self.api.start()
        env = dict(os.environ)
        env.update(lambda_environment(opts, address))
        cmd = [*opts.runtime_command, *(["--", *opts.app_command] if opts.app_command else [])]
        if pool.cgroups:
            try:
                self.cgroup = sandbox.Cgroup.create(f"instance-{self.number}", opts.memory)
                joins.append(self.cgroup.join())
            except sandbox.Unavailable as exc:
                pool.sandbox_failed("memory limit", str(exc))
        if pool.mounts:
            try:
                cwd = os.getcwd()
                named = sandbox.named_tmp_paths([*cmd, cwd, *(f"{k}={v}" for k, v in env.items())])
                self.mounts = sandbox.create_mounts(opts.ephemeral_storage, named)
                joins.append(_enter_mounts(self.mounts.fd, cwd))
            except (sandbox.Unavailable, OSError) as exc:
                pool.sandbox_failed("/tmp of its own", str(exc))
        self.spawned_at = time.monotonic()
        # A session of its own: the instance and its app form a process group we can freeze and kill
        # without touching ourselves; stdin closed, as on Lambda.
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, start_new_session=True, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=procs.bound_to_us(_all(joins) if joins else None),
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

    def out_of_memory(self) -> bool:
        """The kernel killed a process of this instance over its memory limit (on Lambda, the sandbox's end)."""
        return self.cgroup is not None and self.cgroup.oom_kills() > 0

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        # Not proc.wait() alone: it also waits for the runtime's stdout to close, which a process the instance
        # left (an app's child in a session of its own) holds open: the death went unseen, the rest unkilled.
        waiting = asyncio.ensure_future(self.proc.wait())
        while self.proc.returncode is None and not waiting.done():
            await asyncio.wait({waiting}, timeout=0.1)
        status = self.proc.returncode if self.proc.returncode is not None else waiting.result()
        self.exit_status = status
        self.exited.set()
        # Whatever was left in the group (the app, if the runtime died alone) goes with it, as the
        # sandbox is torn down on Lambda.
        procs.kill(self.proc.pid, self.pgid)
        inv = self._current
        if self.out_of_memory():
            error_type, reason = "Runtime.OutOfMemory", f"killed: over {self.pool.opts.memory} MB"
        else:
            error_type = "Runtime.ExitError"
            reason = (f"init failed ({exit_text(status)})" if self.state in ("init", "restoring")
                      else f"runtime exited: {exit_text(status)}")
        if inv is not None and not inv.finished.is_set():
            inv.abandon(Errored(error_type, f"Runtime exited with error: {exit_text(status)}"))
        self.die(reason, error_type)
        await self._end_sandbox()

    async def _watch_init(self) -> None:
        timeout = self.pool.opts.init_timeout
        deadline = self.spawned_at + timeout
        while self.state == "init" and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 0.05)
        if self.state == "init":
            self.pool.log.init_report(timeout * 1000, "timeout")
            self.die("init timed out", "Runtime.InitTimeout")
            await self.stop(graceful=False)

    async def stop(self, graceful: bool = True) -> None:
        """Shut down as Lambda does: thaw; if an extension registered (reweb registers itself), SIGTERM and up
        to 500 ms; then SIGKILL the whole tree; close the Runtime API."""
        if self.proc is not None and self.proc.returncode is None:
            procs.thaw(self.proc.pid, self.pgid)
            if graceful and self.extension_registered:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pgid, signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.exited.wait(), SHUTDOWN_MS / 1000)
            self.kill_now()
        if self.proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), 5.0)
        await self.api.close()
        await self._end_sandbox()
        if self.network is not None:
            self.network.close()
        for task in self._tasks:
            task.cancel()

    def _kill_sandbox(self) -> list[int]:
        """SIGKILL what is left of this instance wherever it went in the process tree (a new session, re-parented
        to init, an app restarted a moment ago), as a dying sandbox takes every process with it on Lambda: its
        memory cgroup's processes, else its mount namespace's, else its sessions' (from /proc). Those signalled."""
        if self.cgroup is not None:
            return self.cgroup.kill()
        if self.mounts is not None and self.mounts.fd >= 0:
            return sandbox.kill_namespace(self.mounts)
        return sandbox.kill_sessions(self.sessions | {self.pgid}) if self.pgid else []

    async def _end_sandbox(self) -> None:
        """Kill until nothing of the instance is left (bounded), then remove its cgroup and namespace."""
        deadline = time.monotonic() + 5.0
        while self._kill_sandbox() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self._release_sandbox()

    def _release_sandbox(self) -> None:
        if self.mounts is not None:
            self.mounts.close()  # the tmpfs goes with the last process of the namespace
        if self.cgroup is not None and self.exited.is_set():
            self.cgroup.close()

    def kill_now(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            if self.cgroup is None and self.mounts is None:  # the fallback's: read while the tree is whole
                self.sessions |= sandbox.sessions_of(procs.tree(self.proc.pid))
            procs.kill(self.proc.pid, self.pgid)
            self._kill_sandbox()

    # ---- what the Runtime API asks of us ---------------------------------------------------------------

    async def next_invocation(self) -> Invocation:
        if self.state == "init":
            self.init_ms = (time.monotonic() - self.spawned_at) * 1000
            self.move("ready")
        elif self.state == "restoring":
            self.restore_ms = (time.monotonic() - self.restore_started) * 1000
            self.move("ready")
        elif self.state in ("busy", "answered"):
            inv = self._current
            if inv is not None:
                if not inv.finished.is_set():
                    # /next without answering the previous invocation: Lambda counts it as a failure (answered by it).
                    inv.settle(Errored("Runtime.NoResponse", "the runtime asked for more work instead"))
                inv.ended_at = time.monotonic()  # its Invoke phase ends here: the REPORT's Duration too
                if inv.on_ended is not None:
                    on_ended, inv.on_ended = inv.on_ended, None
                    on_ended()  # END and REPORT, before the move below can give the instance more work
            self.move("done")
        self._current = None
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
        self.move("checkpoint")
        await self._restored.wait()
        return True

    def freeze(self) -> None:
        if self.proc is not None:
            procs.freeze(self.proc.pid, self.pgid)

    def restore(self) -> None:
        """Thaw the snapshot and let its runtime go on (its restore/next call returns)."""
        if self.proc is not None:
            procs.thaw(self.proc.pid, self.pgid)
        self.move("restore")
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
        self.die(f"restore failed ({error_type})", error_type)
        self.kill_now()

    def init_failed(self, error_type: str) -> None:
        self.pool.log.init_report((time.monotonic() - self.spawned_at) * 1000, "error", error_type)
        self.die(f"init failed ({error_type})", error_type)
        self.kill_now()

    # ---- what the pool asks ----------------------------------------------------------------------------

    def take(self) -> None:
        """Reserve this idle instance for a request (thawed if frozen); the invocation follows with `give`."""
        if self.state == "frozen" and self.proc is not None:
            procs.thaw(self.proc.pid, self.pgid)
        self.move("assign")

    def give(self, inv: Invocation) -> None:
        self.invocations += 1
        inv.instance = self.number
        inv.on_answered = lambda: self._answered(inv)
        self._given = inv
        self._work.put_nowait(inv)

    def given(self) -> Invocation | None:
        return self._given

    def _answered(self, inv: Invocation) -> None:
        """`inv` has its answer (Invocation.finish or deliver): busy -> answered, if it is still this one's."""
        if self.state == "busy" and self._given is inv:
            self.move("answer")


def _enter_mounts(fd: int, cwd: str) -> Callable[[], None]:
    """A preexec function: join the mount namespace (setns resets the working directory: set it again)."""
    setns = sandbox._libc.setns

    def join() -> None:
        if setns(fd, sandbox.CLONE_NEWNS) != 0:
            os._exit(126)
        os.chdir(cwd)

    return join


def _all(steps: list[Callable[[], None]]) -> Callable[[], None]:
    def run() -> None:
        for step in steps:
            step()

    return run


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
        # Lambda throttles past the limit; a limit that is this machine's (one network) makes requests wait instead.
        self.queue_when_full = not self.isolated
        self.mounts = not (why := sandbox.mounts_unavailable())
        if why:
            self.log.note(f"instances cannot have a /tmp of their own here ({why}; needs root or CAP_SYS_ADMIN): "
                          "they share this machine's /tmp, without the --ephemeral-storage limit")
        self.cgroups = not (why := sandbox.cgroups_unavailable(opts.memory))
        if why:
            self.log.note(f"instances cannot have a memory limit of their own here ({why}): --memory is enforced "
                          "by sampling each instance's memory every 100 ms instead")
        self.noted: set[str] = set()
        # Init failures back off instead of starting a new instance for every request.
        self.init_failures = 0
        self.init_retry_at = 0.0
        self.init_failure: InitFailed | None = None
        self.instances: list[Instance] = []  # every instance not dead, in the order they were started
        self.waiters: deque[asyncio.Future[Instance]] = deque()  # only where this machine makes requests wait
        self.spawned = 0
        self.throttles = 0
        self.scaling = ScalingRate()
        self._born_for: dict[Instance, asyncio.Future[Instance]] = {}
        self.watchers: list[Watcher] = [self._moved]  # told of every move, the pool's own bookkeeping first
        self.on_start: list[Callable[[Instance], None]] = []  # told of every new instance
        self._told: deque[tuple[Instance, State, Event]] = deque()
        self._telling = False
        self._reaper: asyncio.Task[None] | None = None
        self._supervisors: set[asyncio.Task[None]] = set()
        self.closing = False

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap())
        self.prepare_snapshot()  # as Lambda snapshots a version when it is published, before any request

    def tell(self, inst: Instance, was: State, event: Event) -> None:
        """Tell every watcher of a move, in the order moves happen: a move made by a watcher (the pool's own
        bookkeeping giving a ready instance to its request) is told once this one has been told to all."""
        self._told.append((inst, was, event))
        if self._telling:
            return
        self._telling = True
        try:
            while self._told:
                move = self._told.popleft()
                for watcher in list(self.watchers):
                    watcher(*move)
        finally:
            self._telling = False

    def sandbox_failed(self, what: str, why: str) -> None:
        if what not in self.noted:
            self.noted.add(what)
            self.log.note(f"an instance could not get a {what} ({why}); it runs without")

    # ---- views of the instances (derived from their states) ----------------------------------------------

    @property
    def live(self) -> int:
        return len(self.instances)

    def _in(self, *states: State) -> list[Instance]:
        return [i for i in self.instances if i.state in states]

    @property
    def snapshot(self) -> Instance | None:
        return next(iter(self._in("snapshot")), None)

    @property
    def preparing(self) -> Instance | None:
        return next((i for i in self._in("init") if i.cause == "snapshot"), None)

    @property
    def backing_off(self) -> bool:
        return self.init_failure is not None and time.monotonic() < self.init_retry_at

    # ---- SnapStart -------------------------------------------------------------------------------------
    # Lambda restores any number of sandboxes from one snapshot. A process tree cannot be cloned here, so each
    # restore uses its own snapshot, made ahead of time (init and the before-checkpoint hook, then frozen) and
    # replaced in the background once used, where the network leaves room for a second instance. What a
    # request waits for is what it waits for on Lambda: the restore, not the init.

    def prepare_snapshot(self) -> None:
        if (not self.opts.snapstart or self.closing or self.snapshot is not None or self.preparing is not None
                or self.live >= self.concurrency or self.backing_off):
            return
        self._background(self._spawn(None))

    def _snapshot_ready(self, inst: Instance) -> None:
        born_for = self._born_for.get(inst)
        if born_for is not None and not born_for.done():
            inst.restore()  # a request claimed it while it was being made: restored for it at once
            return
        self._born_for.pop(inst, None)
        if self.queue_when_full and (waiting := self._first_waiter()) is not None:
            self._born_for[inst] = waiting
            inst.cause = "request"  # it waited for this init
            inst.restore()
            return
        inst.freeze()
        self.log.note(f"SnapStart: snapshot ready (instance {inst.number}, init {inst.init_ms or 0:.0f} ms, done "
                      "ahead of the requests); cold starts restore it")

    # ---- init failures ------------------------------------------------------------------------------------

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

    def _init_succeeded(self) -> None:
        self.init_failures, self.init_retry_at, self.init_failure = 0, 0.0, None

    # ---- the pool's side of each move ---------------------------------------------------------------------

    def _moved(self, inst: Instance, was: State, event: Event) -> None:
        if event == "ready":
            self._init_succeeded()
            self._offer(inst)
        elif event == "checkpoint":
            self._init_succeeded()
            self._snapshot_ready(inst)
        elif event in ("done", "release"):
            self._offer(inst)
        elif event == "die":
            self._gone(inst, was)

    def _offer(self, inst: Instance) -> None:
        """An instance is idle: to the request it was started for, else the first in line, else it waits frozen."""
        born_for = self._born_for.pop(inst, None)
        if born_for is not None and not born_for.done():
            inst.take()
            born_for.set_result(inst)
            return
        if (waiting := self._first_waiter()) is not None:
            inst.take()
            waiting.set_result(inst)
            return
        inst.idle_since = time.monotonic()
        if self.opts.freeze:
            inst.freeze()
            inst.move("freeze")

    def _in_line(self) -> list[asyncio.Future[Instance]]:
        return [w for w in self.waiters if not w.done()]

    def _first_waiter(self) -> asyncio.Future[Instance] | None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                return fut
        return None

    def _gone(self, inst: Instance, was: State) -> None:
        with contextlib.suppress(ValueError):
            self.instances.remove(inst)
        born_for = self._born_for.pop(inst, None)
        death = inst.death
        if was in ("init", "restoring") and death is not None and death.error_type and not self.closing:
            failure = self._init_failed(inst, death.error_type)
            if born_for is not None and not born_for.done():
                born_for.set_exception(failure)
            if not self.live:  # nobody left to serve those waiting: they get the same answer, at once
                for fut in self.waiters:
                    if not fut.done():
                        fut.set_exception(InitFailed(failure.error_type, failure.cause))
        # Someone may still be waiting in line for the room this instance held (this machine's limit, or an
        # answered instance that died or was reset instead of asking for more): a cold start of its own.
        if not self.closing and self.live < self.concurrency and not self.backing_off:
            if (waiting := self._first_waiter()) is not None:
                self._background(self._spawn(waiting))
            else:
                self.prepare_snapshot()
        if not self.closing and not self.queue_when_full:
            # Lambda's rule: one request in line per answered instance. Those left without one (it died, and no
            # room could be had) get the throttle they were spared.
            for fut in self._in_line()[len(self._in("answered")):]:
                self.throttles += 1
                fut.set_exception(Throttled(f"{self.live} instances busy: the concurrency limit (--concurrency "
                                            f"{self.concurrency}); the answered instance this request waited for "
                                            "died"))

    # ---- requests --------------------------------------------------------------------------------------

    async def acquire(self) -> Instance:
        """The most recently used idle instance (warm), or one started for this request (cold), or a throttle."""
        idle = self._in("idle", "frozen")
        if idle:
            inst = max(idle, key=lambda i: i.idle_since)
            inst.take()
            return inst
        failure = self.init_failure
        if failure is not None and self.backing_off and (not self.live or not self.queue_when_full):
            raise InitFailed(failure.error_type, failure.cause)
        fut: asyncio.Future[Instance] = asyncio.get_running_loop().create_future()
        snapshot, preparing = self.snapshot, self.preparing
        if snapshot is not None:
            self._born_for[snapshot] = fut
            snapshot.restore()
            self.prepare_snapshot()  # the next cold start restores too, where there is room for another
        elif preparing is not None and preparing not in self._born_for:
            self._born_for[preparing] = fut  # a snapshot on its way: this request waits for its init
            preparing.cause = "request"
        elif self.live < self.concurrency and not self.backing_off:
            if not self.scaling.take():
                self.throttles += 1
                raise Throttled("the concurrency scaling rate (1,000 new instances every 10 s) is used up")
            await self._spawn(fut)
        elif self.queue_when_full or len(self._in("answered")) > len(self._in_line()):
            # This machine's limit, not Lambda's; or, at the limit, an instance has answered and not yet asked for
            # more (its Invoke phase ends with its runtime's /next): the request waits for that /next, one request
            # per answered instance, bounded by that invocation's deadline (_await_next), rather than throttled.
            self.waiters.append(fut)
        else:
            self.throttles += 1
            raise Throttled(f"{self.live} instances busy: the concurrency limit (--concurrency {self.concurrency})")
        try:
            return await fut
        except asyncio.CancelledError:
            # Given up (the gateway timed out): an instance handed over at that moment goes back, unless it died
            # meanwhile (the table has no release from "dead": an IllegalMove here would be the handler's 500).
            if fut.done() and not fut.cancelled() and fut.exception() is None and fut.result().state == "busy":
                fut.result().move("release")
            raise
        finally:
            with contextlib.suppress(ValueError):
                self.waiters.remove(fut)

    async def _spawn(self, born_for: asyncio.Future[Instance] | None) -> None:
        """A new instance, started for a request (`born_for`) or, under SnapStart, to be the snapshot."""
        self.spawned += 1
        inst = Instance(self, self.spawned, "request" if born_for is not None else "snapshot")
        self.instances.append(inst)
        for started in self.on_start:
            started(inst)
        if born_for is not None:
            self._born_for[inst] = born_for
        try:
            await inst.start()
        except (OSError, netns.Unavailable) as exc:
            self.log.note(f"cannot start an instance: {exc}")
            inst.die(f"cannot start: {exc}", "Runtime.InvalidEntrypoint")

    def _background(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.create_task(coro)
        self._supervisors.add(task)
        task.add_done_callback(self._supervisors.discard)

    async def invoke(self, event: bytes, request_id: str, trace_id: str) -> Invocation:
        """Hand the event to an instance; the returned invocation settles with the outcome.

        Raises InitFailed when the instance started for it could not initialise, Throttled when Lambda would.
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
        inst.give(inv)
        self._background(self._supervise(inst, inv))
        return inv

    async def _supervise(self, inst: Instance, inv: Invocation) -> None:
        """Enforce the function timeout and the memory size; write START / END / REPORT. Duration is the whole Invoke
        phase, to the runtime's /next (what Lambda bills, and what the RIE reports): work after the answer counts.
        END and REPORT are written when the phase ends: at the /next itself (next_invocation calls inv.on_ended,
        before the instance can be given more work, so they precede its next START as in Lambda's log stream), or
        here when the instance is killed, dies or is reset instead."""
        assert inst.proc is not None
        self.log.start(inv.request_id)
        started = time.monotonic()
        first = inst.invocations == 1  # the instance's first: its init (or restore) is reported with it, once
        deadline = started + self.opts.timeout
        status: str | None = None
        error_type: str | None = None
        peak = 0
        memory = self.opts.memory
        inv.on_ended = lambda: self._report(inst, inv, started, first, peak, None, None)
        while not inv.finished.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                self.log.timed_out(inv.request_id, self.opts.timeout)
                inv.abandon(Errored("Sandbox.Timedout", f"Task timed out after {self.opts.timeout:.2f} seconds"))
                status = "timeout"
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inv.finished.wait(), min(left, 0.1))
            if inv.finished.is_set():
                break  # before another memory look: it is not the function's time
            if inst.cgroup is not None:  # the kernel enforces the limit; we only notice its kill
                over = inst.out_of_memory()
            else:
                peak = max(peak, procs.tree_rss_mib(inst.proc.pid))
                over = peak > memory
            if over and not inv.finished.is_set():
                inv.abandon(Errored("Runtime.OutOfMemory", "Runtime exited with error: signal: killed"))
                status, error_type = "error", "Runtime.OutOfMemory"
                break
        if status is None and inv.on_ended is not None and inst.out_of_memory():
            status, error_type = "error", "Runtime.OutOfMemory"  # killed by the kernel as the answer came
        if status is not None:
            # Timed out or out of memory: the sandbox is destroyed; the next request cold-starts.
            inv.on_ended = None
            if error_type == "Runtime.OutOfMemory":
                self.log.line(f"RequestId: {inv.request_id} Error: Runtime exited with error: signal: killed")
                self.log.line("Runtime.OutOfMemory")
                inst.die(f"killed: over {memory} MB", error_type)
            else:
                inst.die("killed: function timeout", "Sandbox.Timedout")
            inst.kill_now()
        elif not await self._await_next(inst, inv, deadline):
            status = "timeout"  # no /next by the deadline: the Invoke phase timed out, the instance was reset
        elif inst.state == "dead" and inst.exit_status is not None and inst.given() is inv:  # died in this phase
            status = "error"
            error_type = inst.death.error_type if inst.death is not None else "Runtime.ExitError"
        if inv.on_ended is None and status is None:
            return  # reported at its /next
        inv.on_ended = None
        self._report(inst, inv, started, first, peak, status, error_type)

    def _report(self, inst: Instance, inv: Invocation, started: float, first: bool, peak: int, status: str | None,
                error_type: str | None) -> None:
        """END and REPORT of `inv`, whose Invoke phase has ended (at inv.ended_at, its /next, or now)."""
        assert inst.proc is not None
        memory = self.opts.memory
        duration = ((inv.ended_at or time.monotonic()) - started) * 1000
        if status == "timeout":
            duration = min(duration, self.opts.timeout * 1000)  # as Lambda reports a timeout: the timeout itself
        if error_type == "Runtime.OutOfMemory":
            peak = memory  # as Lambda reports an instance killed over its memory size
        elif inst.cgroup is not None:
            peak = max(peak, inst.cgroup.peak_mib(), 1)
        else:
            peak = max(peak, procs.tree_peak_mib(inst.proc.pid), 1)
        init_ms = restore_ms = None
        if first:
            restore_ms = inst.restore_ms
            if restore_ms is None or inst.cause == "request":  # a snapshot made ahead of time is nobody's init
                init_ms = inst.init_ms
        self.log.end(inv.request_id)
        self.log.report(inv.request_id, duration_ms=duration, memory_mb=memory,
                        max_used_mb=min(peak, memory), init_ms=init_ms, restore_ms=restore_ms, status=status,
                        error_type=error_type, instance=inst.number)

    async def _await_next(self, inst: Instance, inv: Invocation, deadline: float) -> bool:
        """Lambda's function timeout bounds the whole Invoke phase, which ends with the runtime's /next: an instance
        still answered at its invocation's deadline (monotonic) is reset, killed as Lambda resets the execution
        environment; whoever waited for its /next gets the room it frees (_gone). Called once the invocation is
        finished: its /next may come up to NEXT_GRACE after that, when that is past the deadline. True: the /next
        came (or the instance left `answered` otherwise); False: it was reset."""
        until = max(deadline, time.monotonic() + NEXT_GRACE)
        while inst.state == "answered" and inst.given() is inv:
            left = until - time.monotonic()
            if left <= 0:
                timeout = self.opts.timeout
                self.log.note(f"instance {inst.number}: no /next within the function timeout ({timeout:g} s) after "
                              f"answering {inv.request_id}: reset, as Lambda resets an environment whose Invoke "
                              "phase times out")
                inst.die(f"killed: no /next within the function timeout ({timeout:g} s) after its answer",
                         "Sandbox.Timedout")
                inst.kill_now()
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inst.phase_over.wait(), left)
        return True

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.opts.idle_ttl / 4))
            now = time.monotonic()
            for inst in self._in("idle", "frozen"):
                if now - inst.idle_since >= self.opts.idle_ttl:
                    inst.die(f"idle for {self.opts.idle_ttl:g} s: shut down")
                    self.log.note(f"instance {inst.number} idle for {self.opts.idle_ttl:g}s, shut down")
                    self._background(inst.stop())

    async def close(self) -> None:
        """Stop every instance (apps included) and wait until they are gone."""
        self.closing = True
        if self._reaper is not None:
            self._reaper.cancel()
        everyone = list(self.instances)
        for fut in [*self.waiters, *self._born_for.values()]:
            if not fut.done():
                fut.set_exception(InitFailed("Runtime.Shutdown"))
        for inst in everyone:
            inst.die("shut down")
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
