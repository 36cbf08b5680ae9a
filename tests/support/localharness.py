"""Test harness: start `reweb local` as a real process, wait for its banner, stop it, find leftovers."""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reweb.local.ports import free_port
from tests.support.http_client import fetch

APPS = Path(__file__).resolve().parents[1] / "local" / "apps"  # the apps tests/local runs
WEBAPP = [sys.executable, str(APPS / "webapp.py")]
FAKE_RUNTIME = f"{sys.executable} {APPS / 'fake_runtime.py'}"


# tests/local/conftest.py clears it for a test without the integration marker, so the marker stays true.
may_start = True


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:].split()[0] != b"Z"


@dataclass
class Local:
    proc: subprocess.Popen[bytes]
    port: int
    lines: list[str] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    changed: threading.Condition = field(default_factory=threading.Condition)
    terminal: int = -1  # the master side of the pseudo-terminal it runs in, if any
    reader: threading.Thread | None = None
    hanging_up: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def read(self) -> None:
        if self.terminal >= 0:
            return self.read_terminal()
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self.changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.changed.notify_all()

    def read_terminal(self) -> None:
        pending = b""
        while not self.hanging_up.is_set():  # polled, so that hang_up can close the terminal safely
            if not select.select([self.terminal], [], [], 0.1)[0]:
                continue
            try:
                data = os.read(self.terminal, 65536)
            except OSError:  # EIO: every process let go of the terminal
                return
            *lines, pending = (pending + data).split(b"\n")
            with self.changed:
                self.lines.extend(line.decode("utf-8", "replace").rstrip("\r") for line in lines)
                self.changed.notify_all()

    def hang_up(self) -> None:
        """Close the terminal, as when its window is closed: the kernel sends SIGHUP to the session."""
        self.remember_tree()
        self.hanging_up.set()
        if self.reader is not None:
            self.reader.join(timeout=5)
        os.close(self.terminal)

    def wait_for(self, text: str, timeout: float = 15.0, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while sum(text in line for line in self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"{text!r} not seen; log:\n" + "\n".join(self.lines))
                self.changed.wait(min(left, 0.1))

    def count(self, text: str) -> int:
        with self.changed:
            return sum(text in line for line in self.lines)

    def remember_tree(self) -> None:
        self.seen.update(descendants(self.proc.pid))

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.remember_tree()
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def state(local: Local) -> dict[str, Any]:
    """The dashboard's state, as scripts get it: GET /__reweb/api/state (JSON)."""
    r = fetch(local.port, "/__reweb/api/state")
    assert r.status == 200 and (r.one("content-type") or "").startswith("application/json"), r
    doc: dict[str, Any] = json.loads(r.body)
    return doc


def wait_state(local: Local, check: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
    """The dashboard's state once `check` holds (polled, bounded in time); else the last state and the log."""
    deadline = time.monotonic() + timeout
    while True:
        doc = state(local)
        if check(doc):
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"dashboard state never matched:\n{json.dumps(doc, indent=1)}\nlog:\n"
                                 + "\n".join(local.lines))
        time.sleep(0.05)


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # after setsid: stdin's terminal becomes the controlling one


def start_local(args: list[str], app: list[str] | None = None, env: dict[str, str] | None = None,
                runtime: str | None = None, terminal: bool = False) -> Local:
    """Start `reweb local` in a session of its own; with terminal=True its stdin, stdout and stderr are a
    pseudo-terminal that is its controlling terminal, as in a terminal window."""
    if not may_start:
        raise AssertionError("this test starts reweb local: mark it integration (pytest.mark.integration)")
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("REWEB_", "AWS_LWA_"))}
    full_env.pop("PORT", None)
    full_env.update(env or {})
    if runtime:
        full_env["REWEB_LOCAL_RUNTIME"] = runtime
    cmd = [sys.executable, "-m", "reweb.local", "--port", str(port), *args, "--", *(app or WEBAPP)]
    if terminal:
        master, slave = os.openpty()
        try:
            proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                    start_new_session=True, preexec_fn=_take_terminal)
        finally:
            os.close(slave)
        local = Local(proc, port, terminal=master)
    else:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env,
                                start_new_session=True)
        local = Local(proc, port)
    local.reader = threading.Thread(target=local.read, daemon=True)
    local.reader.start()
    local.wait_for("ready: open")
    return local




def console_without_sys_admin(local_args: list[str], app: list[str]) -> list[str]:
    """`reweb local` started without CAP_SYS_ADMIN (root drops it; a plain user has none): its console lines up to
    "ready", after checking that `/` is served; then stopped with Ctrl-C. The fallbacks' one-line notices are there."""
    import os
    import subprocess
    import sys

    from reweb.local.ports import free_port
    from tests.support.http_client import fetch

    port = free_port()
    drop = ["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([*drop, sys.executable, "-m", "reweb.local", "--port", str(port), *local_args, "--", *app],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "ready: open" in line:
                break
        assert fetch(port, "/").status == 200
    finally:
        proc.send_signal(2)
        proc.wait(20)
    return lines
