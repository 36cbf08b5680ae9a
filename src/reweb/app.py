"""The app as a child process: spawn, readiness, supervision, shutdown."""

from __future__ import annotations

import os
import threading
import time

from . import tree
from .config import Settings
from .http1 import Connection, ProtocolError, open_socket, request_head
from .log import Log
from .threads import start_daemon

# No contextlib (try/except instead of contextlib.suppress): as in tree.py, its import costs init ~1.7 M instructions.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
else:  # the C module: `signal` builds three enums at import (~5% of the executable's init); describe_exit
    import _signal  # imports it for a signal's name

POLL_INTERVAL = 0.010  # readiness poll: the port is noticed within ~10 ms of opening
# For the first second the grid is finer: most apps are ready within it, and each probe of a port nobody
# listens on yet is one refused connect (tens of microseconds). Cold starts wait ~2.5 ms less on average.
FAST_POLL_INTERVAL = 0.005
FAST_POLL_FOR = 1.0
PROGRESS_INTERVAL = 2.0


class AppExited(Exception):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(describe_exit(status))


# exit_of's answer for an app process that has exited but whose status fell out of App.exits (64 recent ones).
EXIT_UNKNOWN = 1 << 16


def describe_exit(status: int, who: str = "the app") -> str:
    if status == EXIT_UNKNOWN:
        return f"{who} exited (its exit status is no longer known)"
    if status < 0:
        import signal  # only to name a signal: its enums never at init

        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"{who} was killed by {name}"
    return f"{who} exited with status {status}"


PF_EXITING = 0x4  # include/linux/sched.h: set when the process starts to exit, before its files are closed


def _exiting(pid: int) -> bool:
    """Whether the process `pid` (a child of ours) is exiting or has exited. A crashing app's sockets are
    closed by the kernel after it has marked every thread exiting, so a peer that sees the close can tell
    a dying app (its exit is certain) from one that closed a connection and lives on. Every thread counts:
    a main thread that ended alone (pthread_exit) leaves the process running."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:  # reaped already, if /proc is there at all
        return os.path.exists("/proc/self/stat")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat", "rb") as file:
                fields = file.read().rpartition(b")")[2].split()
        except FileNotFoundError:  # this thread is gone already
            continue
        except OSError:
            return False
        if fields[0] not in (b"Z", b"X", b"x") and not int(fields[6]) & PF_EXITING:
            return False
    return True


# stdin from /dev/null, as on Lambda; closed in a bare root without one (else the spawn fails as if the
# command were missing).
_STDIN_ACTIONS = ([(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)] if os.path.exists("/dev/null")
                  else [(os.POSIX_SPAWN_CLOSE, 0)])


class AppStartError(Exception):
    """The app could not be started at all (missing command, no shell, port held): a one-line reason."""


class App:
    """The app's process tree, supervised from one place that belongs to no worker thread:
    - spawned with posix_spawn in a session (and process group) of its own, so one signal reaches its tree;
    - reweb is a child subreaper, so servers that a wrapper script started stay in reach when it exits;
    - a lifeline process SIGKILLs the app's group if reweb itself is SIGKILLed;
    - a reaper thread collects every exit (the app's, and orphans re-parented to us) the moment it happens.
    """

    def __init__(self, settings: Settings, log: Log) -> None:
        self.settings = settings
        self.log = log
        self.pid = 0
        self.status: int | None = None  # the current app's exit status once it has exited
        self.exits: dict[int, int] = {}  # pid -> exit status, of the children reaped lately (earlier apps too)
        self.ready = False
        self.lock = threading.Lock()  # one start/restart/readiness wait at a time
        self.exited = threading.Condition()
        self.restarts = 0
        self.failure = ""  # why the last restart failed, for the invocations that meet it
        self.last_check = "not tried yet"  # the readiness check's last verdict
        self.lifeline_pid = 0
        self.lifeline_fd = -1
        self.reaper: threading.Thread | None = None
        self.extra_env: dict[str, str] = {}  # resolved once at init (secrets): every start gets the same
        self.spawned_at = 0.0  # monotonic time of the last spawn: "ready since_spawn_ms" is the app's own start

    # -- lifecycle -------------------------------------------------------------------------------------

    def _supervise(self) -> None:
        """Once, before any thread exists (fork and threads do not mix)."""
        if self.reaper is not None:
            return
        tree.set_child_subreaper()
        try:
            self.lifeline_pid, self.lifeline_fd = tree.start_lifeline()
        except OSError as exc:
            self.log.warn("no lifeline process: the app may outlive a SIGKILL of reweb", reason=str(exc))
        self.reaper = start_daemon(self._reap, name="reweb-reaper")

    def start(self) -> None:
        """Spawn the app. Raises AppStartError with a one-line reason."""
        self._supervise()
        settings = self.settings
        try:
            argv = list(settings.application_argv) or tree.command_argv(settings.application_exec)
        except tree.CommandError as exc:
            raise AppStartError(str(exc)) from None
        if self._adopt_early(argv):
            return
        holders = self._port_holders()
        if holders is not None:
            message = (f"port {settings.port} is already in use by {tree.describe_pids(holders)} before the app "
                       "starts; the app could not listen there, and readiness answers would come from that process")
            if os.environ.get("AWS_SAM_LOCAL") == "true":  # SAM CLI sets it; its emulator holds 8080 in there
                message += ("; under `sam local` the emulator listens on 8080 inside the container: set "
                            "REWEB_APPLICATION_PORT (and the app's own port) to another one, e.g. 8000, in the "
                            "image or the template's Environment")
            raise AppStartError(message)
        env = dict(os.environ)
        env.setdefault("PORT", str(settings.port))  # many apps (Heroku style) read $PORT
        env.update(self.extra_env)
        # execve cannot pass a NUL: posix_spawn would raise ValueError (a traceback). Name the variable only.
        held = next((name for name, value in env.items() if "\0" in value), None)
        if held is not None:
            raise AppStartError(f"the environment variable {held} holds a NUL character, which no process "
                                "environment can carry")
        with self.exited:
            try:
                # setsigdef: Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec.
                pid = os.posix_spawnp(argv[0], argv, env, setsid=True,
                                      setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ), file_actions=_STDIN_ACTIONS)
            except OSError as exc:
                raise AppStartError(tree.describe_spawn_error(argv[0], exc)) from None
            self.pid, self.status, self.ready = pid, None, False
            self.spawned_at = time.monotonic()
            self.exited.notify_all()  # the reaper may be waiting for a child to exist
        if self.lifeline_fd >= 0:
            try:  # noqa: SIM105 (no contextlib at init)
                os.write(self.lifeline_fd, b"%d\n" % pid)
            except OSError:
                pass
        self.log.info("app started", pid=pid, command=" ".join(argv)[:200])

    def _adopt_early(self, argv: list[str]) -> bool:
        """The one-file executable's C main() may have spawned the app already (its start then overlaps the
        interpreter's): kept when it is the very argv, port and environment this start would give, else stopped
        and spawned again here."""
        early = tree.take_early_app()
        if early is None:
            return False
        pid, spawned_at, port, early_argv = early
        if early_argv == argv and port == self.settings.port and not self.extra_env and self.pid == 0:
            with self.exited:  # had it exited already, the reaper has its status
                self.pid, self.status, self.ready = pid, self.exits.get(pid), False
                self.spawned_at = spawned_at
                self.exited.notify_all()
            self.log.info("app started", pid=pid, command=" ".join(argv)[:200], early="true")
            return True
        tree.kill_all([pid])
        with self.exited:
            self.exited.wait_for(lambda: pid in self.exits, 5.0)
        return False

    def _port_holders(self) -> list[int] | None:
        """None when nothing listens on the app's port, else who does (maybe [] when unknown)."""
        try:  # open_socket: a numeric address without getaddrinfo (its idna codec costs ms before the spawn)
            open_socket(self.settings.host, self.settings.port, 0.5).close()
        except OSError:
            return None
        return tree.port_listeners(self.settings.port)

    def _reap(self) -> None:
        """Collect every child's exit as it happens; record the app's."""
        while True:
            try:
                # Seen first (WNOWAIT), then reaped and recorded under the lock: a pid that has left /proc has
                # its status in `exits`, or had it (exit_of tells a lost status from one about to be recorded).
                seen = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:  # no child yet (or any more): wait for start() to make one
                with self.exited:
                    self.exited.wait(1.0)
                continue
            if seen is None:
                continue
            with self.exited:
                try:  # a zombie: at once (WNOHANG all the same: the lock is held)
                    pid, wait_status = os.waitpid(seen.si_pid, os.WNOHANG)
                except ChildProcessError:  # reaped by someone else meanwhile
                    continue
                if pid == 0:
                    continue
                status = os.waitstatus_to_exitcode(wait_status)
                self.exits[pid] = status
                if len(self.exits) > 64:
                    del self.exits[next(iter(self.exits))]
                self.exited.notify_all()
                if pid == self.pid:
                    self.status = status
                    self.ready = False
                    self.exited.notify_all()
                    continue
            if pid == self.lifeline_pid:
                self.lifeline_fd = -1
                self.log.warn("the lifeline process exited; the app may outlive a SIGKILL of reweb",
                              reason=describe_exit(status, "the lifeline"))
            # else: an orphan of the app's tree, re-parented to us as subreaper: reaped, nothing to do

    def exit_status(self) -> int | None:
        return self.status if self.pid else None

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status if the app exits within `timeout` seconds, else None."""
        if not self.pid:
            return None
        with self.exited:
            self.exited.wait_for(lambda: self.status is not None, max(timeout, 0.0))
            return self.status

    def exit_of(self, pid: int, timeout: float, until: float) -> int | None:
        """The exit status of the app process `pid` (the current one or an earlier one) if it has exited.
        When the kernel already marks it as exiting, its exit is certain and is waited for until the monotonic
        time `until`, however late this loaded machine runs the reaper; otherwise for `timeout` seconds (a
        wrapper script exits just after its server died). Reaped with its status no longer in `exits`:
        EXIT_UNKNOWN at once."""
        if not pid:
            return None

        def status() -> int | None:  # the current app's is authoritative (a reused pid is not its past)
            return self.status if pid == self.pid else self.exits.get(pid)

        with self.exited:
            if (known := status()) is not None:
                return known
            if not os.path.exists(f"/proc/{pid}") and os.path.exists("/proc/self/stat"):
                return EXIT_UNKNOWN  # reaped, and its status fell out of `exits` (_reap records before reaping)
        wait = until - time.monotonic() if _exiting(pid) else timeout
        with self.exited:
            self.exited.wait_for(lambda: status() is not None, max(wait, 0.0))
            return status()

    def exiting(self, pid: int) -> bool:
        """Whether the app process `pid` is exiting or has exited: certain as soon as the kernel closes its
        sockets, before its exit is reaped (0, no app yet: False)."""
        return bool(pid) and (pid in self.exits or _exiting(pid))

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM the app's group, SIGKILL whatever of its tree is left after `grace` seconds."""
        if not self.pid:
            return
        self.ready = False
        if self.status is None:
            self._signal_group(_signal.SIGTERM)
            self.wait_exit(grace)
        self._signal_group(_signal.SIGKILL)
        # Servers that left the group (setsid daemons) but not our tree: we are their subreaper.
        stray = [pid for pid in tree.descendants(os.getpid()) if pid != self.lifeline_pid]
        tree.kill_all(stray)
        self.wait_exit(1.0)

    def _signal_group(self, sig: int) -> None:
        try:  # noqa: SIM105 (no contextlib at init)
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def restart(self, until: float) -> bool:
        """After a crash: stop what is left, start again, wait for readiness until the monotonic time `until`."""
        with self.lock:
            if self.ready and self.exit_status() is None:
                return True  # another worker already restarted it
            status = self.exit_status()
            self.log.warn("restarting the app", reason=describe_exit(status) if status is not None else "unreachable")
            self.stop(grace=0.5)
            self.restarts += 1
            try:
                self._wait_port_free(min(until, time.monotonic() + 2.0))
                self.start()
                return self._wait(until)
            except (AppStartError, AppExited) as exc:
                self.log.error("the app could not be restarted", reason=str(exc))
                self.failure = str(exc)
                return False

    def _wait_port_free(self, until: float) -> None:
        """The old app's port must be free before the new one starts: else the new one cannot listen, and
        the readiness check would be answered by the old one."""
        while (holders := self._port_holders()) is not None:
            ours = set(tree.descendants(os.getpid()))
            tree.kill_all([pid for pid in holders if pid in ours and pid != self.lifeline_pid])
            if time.monotonic() >= until:
                raise AppStartError(f"port {self.settings.port} is still held by {tree.describe_pids(holders)} "
                                    "after the old app was stopped")
            time.sleep(POLL_INTERVAL)

    # -- readiness -------------------------------------------------------------------------------------

    def wait_ready(self, until: float) -> bool:
        """Poll until ready (True) or the monotonic time `until` (False). Raises AppExited."""
        with self.lock:
            return self._wait(until)

    def _wait(self, until: float) -> bool:
        if self.ready:
            return True
        settings = self.settings
        started = time.monotonic()
        next_progress = started + PROGRESS_INTERVAL
        target = f"{settings.readiness_protocol}://{settings.authority(settings.check_port)}"
        if settings.readiness_protocol == "http":
            target += settings.wait_path
        last = "not tried yet"
        next_probe = started
        told_port, port_check = False, started + 1.0
        while True:
            status = self.exit_status()
            if status is not None:
                raise AppExited(status)
            last = self.last_check = self._check()
            if last == "ready":
                with self.exited:  # an app that died right after its probe is not ready: the reaper said so
                    if self.status is not None:
                        raise AppExited(self.status)
                    self.ready = True
                now = time.monotonic()
                # after_ms: this wait; since_spawn_ms: the app's own start, from its spawn to the probe that
                # found it ready (what it would take without reweb, to one probe interval).
                self.log.info("app is ready", after_ms=round((now - started) * 1000, 1),
                              since_spawn_ms=round((now - self.spawned_at) * 1000, 1), check=target)
                return True
            now = time.monotonic()
            if now >= until:
                return False
            if not told_port and now >= port_check and last.startswith("connect"):
                told_port = self._tell_where_the_app_listens()
                port_check = now + 0.5  # a /proc walk: not at every 10 ms probe
            if now >= next_progress:
                self.log.info("waiting for the app", waited_s=round(now - started, 1), check=target, last=last)
                next_progress += PROGRESS_INTERVAL
            # Probes on a fixed grid (5 ms, then 10 ms): the probe's own time and sleep overshoot do not add up.
            step = FAST_POLL_INTERVAL if now - started < FAST_POLL_FOR else POLL_INTERVAL
            next_probe = max(next_probe + step, now)
            time.sleep(max(0.0, min(next_probe, until) - now))

    def _tell_where_the_app_listens(self) -> bool:
        """After a second of nothing on the expected port: if the app listens elsewhere, say so, naming both
        (the most common first mistake). True once said."""
        elsewhere = [port for port in tree.listening_ports([self.pid, *tree.descendants(self.pid)])
                     if port != self.settings.check_port]
        if not elsewhere:
            return False
        self.log.warn(f"nothing listens on port {self.settings.check_port}, but the app listens on "
                      f"{', '.join(map(str, elsewhere))}: set REWEB_APPLICATION_PORT={elsewhere[0]} "
                      f"(reweb local: --app-port {elsewhere[0]})", port=self.settings.check_port, listening=elsewhere)
        return True

    def _check(self) -> str:
        """One readiness probe: "ready", or why not. An HTTP probe is a whole exchange through the strict
        client, answer read to its end: closing on unread bytes would reset the app's connection mid-write
        (and put a traceback in many apps' logs at every start)."""
        settings = self.settings
        conn = Connection(settings.host, settings.check_port, timed=True)
        conn.set_deadline(time.monotonic() + 2.0)
        try:
            conn.connect()
        except OSError as exc:
            return f"connect: {exc.strerror or exc}"
        try:
            if settings.readiness_protocol == "tcp":
                return "ready"
            conn.send(request_head("GET", settings.wait_path, [("Host", settings.authority(settings.check_port)),
                                                               ("User-Agent", "reweb-readiness"),
                                                               ("Connection", "close")]))
            head = conn.read_head()
            conn.set_deadline(time.monotonic() + 0.2)
            try:  # noqa: SIM105 (no contextlib at init)
                conn.read_body(head, 4 << 20)
            except Exception:
                pass
            return "ready" if head.status in settings.wait_codes else f"status {head.status}"
        except TimeoutError:
            return "probe: no answer within 2 s"
        except (ProtocolError, OSError, ValueError) as exc:  # ValueError: a wait path request_head refuses
            return f"probe: {exc}"
        finally:
            conn.close()
