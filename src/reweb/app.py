"""The app as a child process: spawn, readiness, supervision, shutdown."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable

from .config import Settings
from .log import Log

POLL_INTERVAL = 0.010  # readiness poll: the port is noticed within ~10 ms of opening
PROGRESS_INTERVAL = 2.0


class AppExited(Exception):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(describe_exit(status))


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"the app was killed by {name}"
    return f"the app exited with status {status}"


_COMPOUND = re.compile(r"[;&|()<>`\n]")
# Shell keywords and builtins: `exec` of these would fail or change meaning.
_SHELL_WORDS = frozenset({
    "!", "{", ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "eval", "exec", "exit",
    "export", "fg", "for", "getopts", "hash", "if", "jobs", "local", "read", "readonly", "return", "set", "shift",
    "source", "time", "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
})


def shell_command(command: str) -> str:
    """A simple command runs as `exec CMD`, so the app replaces the shell: it is reweb's own child, gets
    signals directly, reports its own exit status and dies with reweb. Compound commands are left as they are."""
    words = command.split()
    if not words or _COMPOUND.search(command) or words[0] in _SHELL_WORDS or "=" in words[0]:
        return command
    return "exec " + command


def _die_with_parent() -> Callable[[], None] | None:
    """The app gets SIGKILL if reweb dies (Linux PR_SET_PDEATHSIG): never an orphan app on a port."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (OSError, ImportError):
        return None
    prctl = libc.prctl

    def set_pdeathsig() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return set_pdeathsig


class App:
    def __init__(self, settings: Settings, log: Log) -> None:
        self.settings = settings
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.ready = False
        self.lock = threading.Lock()
        self.restarts = 0

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        settings = self.settings
        env = dict(os.environ)
        env.setdefault("PORT", str(settings.port))  # many apps (Heroku style) read $PORT
        if settings.application_argv:
            argv = list(settings.application_argv)
        else:
            argv = ["/bin/sh", "-c", shell_command(settings.application_exec)]
        # Own process group: shutdown and freeze reach the app's whole tree. stdout/stderr pass through.
        self.process = subprocess.Popen(argv, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent())
        self.ready = False
        self.log.info("app started", pid=self.process.pid, command=" ".join(argv)[:200])

    def exit_status(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status if the app exits within `timeout` seconds, else None."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 2.0) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(grace)
        self._signal_group(signal.SIGKILL)  # whatever of the tree is left
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(1.0)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def restart(self, until: float) -> bool:
        """After a crash: start again and wait for readiness until the monotonic time `until`."""
        with self.lock:
            if self.ready and self.exit_status() is None:
                return True  # another worker already restarted it
            status = self.exit_status()
            self.log.warn("restarting the app", reason=describe_exit(status) if status is not None else "unreachable")
            self.stop(grace=0.5)
            self.restarts += 1
            self.start()
            try:
                return self._wait(until)
            except AppExited as exc:
                self.log.error("the app exited again while starting", reason=str(exc))
                return False

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
        target = f"{settings.readiness_protocol}://127.0.0.1:{settings.check_port}"
        if settings.readiness_protocol == "http":
            target += settings.wait_path
        last = "not tried yet"
        next_probe = started
        while True:
            status = self.exit_status()
            if status is not None:
                raise AppExited(status)
            last = self._check()
            if last == "ready":
                self.ready = True
                self.log.info("app is ready", after_ms=round((time.monotonic() - started) * 1000, 1),
                              check=target)
                return True
            now = time.monotonic()
            if now >= until:
                return False
            if now >= next_progress:
                self.log.info("waiting for the app", waited_s=round(now - started, 1), check=target, last=last)
                next_progress += PROGRESS_INTERVAL
            # Probes on a fixed 10 ms grid: the probe's own time and sleep overshoot do not add up.
            next_probe = max(next_probe + POLL_INTERVAL, now)
            time.sleep(max(0.0, min(next_probe, until) - now))

    def _check(self) -> str:
        """One readiness probe: "ready", or why not."""
        settings = self.settings
        try:
            sock = socket.create_connection(("127.0.0.1", settings.check_port), timeout=1.0)
        except OSError as exc:
            return f"connect: {exc.strerror or exc}"
        try:
            if settings.readiness_protocol == "tcp":
                return "ready"
            sock.sendall(f"GET {settings.wait_path} HTTP/1.1\r\nHost: 127.0.0.1:{settings.check_port}\r\n"
                         "User-Agent: reweb-readiness\r\nConnection: close\r\n\r\n".encode())
            sock.settimeout(2.0)
            first = sock.recv(64)
            parts = first.split(b" ", 2)
            if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
                code = int(parts[1])
                return "ready" if code in settings.wait_codes else f"status {code}"
            return "not an HTTP answer"
        except OSError as exc:
            return f"probe: {exc}"
        finally:
            sock.close()
