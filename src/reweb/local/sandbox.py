"""A sandbox per instance, as Lambda gives each execution environment: a /tmp of its own and a memory limit.

/tmp: a tmpfs of --ephemeral-storage MB (mode 1777: the app may run as any user) in a mount namespace of the
instance's own, made like the network namespace (netns.py) by a short-lived thread and joined with setns(2) before
exec. Mount propagation is made private first, so nothing mounted here reaches this machine. What the app's
command, working directory or environment name under this machine's /tmp (a test's app.py, a data directory handed
to the app) is bound through at the same place, from its top entry under /tmp: the app's own files stay where it
was told they are.

Memory: a cgroup per instance with the memory limit of --memory MB and no swap (cgroup v2: memory.max and
memory.swap.max; v1: memory.limit_in_bytes and memory.memsw.limit_in_bytes). The kernel kills a process over it;
memory.events (v2) or memory.oom_control (v1) counts the kill, and the instance is reported as Lambda reports it.
Where either is not possible, `mounts_unavailable()` / `Cgroup.create` say why in one line.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import stat
import threading
from collections.abc import Callable

from .nsthread import Probe, in_own_thread

CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000
TMP = "/tmp"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


class Unavailable(Exception):
    """This host cannot give instances this part of a sandbox; the message says why."""


def _check(result: int, what: str) -> None:
    if result != 0:
        raise Unavailable(f"{what}: {os.strerror(ctypes.get_errno())}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data is not None else None), f"mount {target}")


def named_tmp_paths(words: list[str]) -> list[str]:
    """What `words` name under /tmp (as paths, or inside VAR=path), as the existing entries right under /tmp that
    hold them: /tmp/pytest-of-root for a test's app.py, /tmp/data for /tmp/data/db/x.sqlite. The whole top entry,
    so that what the app reaches beside the named path (a database's unix socket in a sibling directory) is there
    too. Never /tmp itself."""
    found: list[str] = []
    real_tmp = os.path.realpath(TMP)
    for word in words:
        for part in word.replace("=", ":").split(":"):
            # Normalised before the check: /tmp/../etc/passwd is /etc/passwd, which the instance's setup would
            # create, chown and chmod on this machine.
            top = os.path.normpath(part).split(os.sep)[:3]  # "", "tmp", name
            if len(top) < 3 or top[0] != "" or top[1] != TMP.lstrip(os.sep) or top[2] in ("", ".", ".."):
                continue
            path = os.sep.join(top)
            if not os.path.lexists(path) or path in found:
                continue
            # A symlink there is followed by the bind: only one that stays under /tmp.
            if not os.path.realpath(path).startswith(real_tmp + os.sep):
                continue
            found.append(path)
    return sorted(found)


class Mounts:
    """One instance's mount namespace (held open by a file descriptor)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        """Let go of the namespace (once: the descriptor's number may be another file's afterwards)."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _kill_all(pids: list[int]) -> list[int]:
    """SIGCONT then SIGKILL each of `pids`; those that were there to signal."""
    hit = []
    for pid in pids:
        if pid == os.getpid():
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)
            hit.append(pid)
    return hit


def _stat_fields(pid: str) -> list[bytes]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return stat[stat.rfind(b")") + 2:].split()  # state, ppid, pgrp, session, ...


def kill_namespace(mounts: Mounts) -> list[int]:
    """SIGKILL every process in the mount namespace `mounts` holds: an instance's own, so every process it
    started is in it, whatever its session or parent (what a memory cgroup gives, where there is none). Returns
    those signalled (the caller calls again until none is)."""
    try:
        ns = os.fstat(mounts.fd).st_ino
    except OSError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}/ns/mnt").st_ino == ns and _stat_fields(entry)[0] != b"Z":
                    found.append(int(entry))
    return _kill_all(found)


def kill_sessions(sessions: set[int]) -> list[int]:
    """SIGKILL every live process in one of `sessions` or in a process group of that number (the instance's
    runtime's, its app's: the app runs in a session of its own), found from /proc: where there is neither
    a cgroup nor a mount namespace, what is left of an instance's tree once its root is gone. Returns those
    signalled."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = _stat_fields(entry)
                if fields[0] != b"Z" and (int(fields[2]) in sessions or int(fields[3]) in sessions):
                    found.append(int(entry))
    return _kill_all(found)


def sessions_of(pids: list[int]) -> set[int]:
    """The session and process group ids of `pids` (read from /proc)."""
    out: set[int] = set()
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(str(pid))
            out.update((int(fields[2]), int(fields[3])))
    out.discard(0)
    out.discard(os.getpgrp())  # never ours
    out.discard(os.getsid(0))
    return out


def create_mounts(size_mb: int, binds: list[str]) -> Mounts:
    """A new mount namespace with a fresh tmpfs of `size_mb` on /tmp and `binds` bound through. Raises Unavailable."""

    def inside() -> Mounts:
        held: list[int] = []
        try:
            _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
            _mount("none", "/", None, _MS_REC | _MS_PRIVATE)  # nothing mounted here propagates to this machine
            # Handles on the directories to bind, taken in the new namespace (a bind takes only its own mounts)
            # before the tmpfs hides them.
            for path in binds:  # one by one: when one fails, `finally` closes those taken before it
                held.append(os.open(path, os.O_PATH | os.O_CLOEXEC))
            stats = [os.stat(path) for path in binds]
            _mount("tmpfs", TMP, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size_mb}m,mode=1777")
            for path, fd, st in zip(binds, held, stats, strict=True):
                if stat.S_ISDIR(st.st_mode):  # a mount point of the same mode and owner as on this machine
                    os.mkdir(path)
                else:
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
                os.chown(path, st.st_uid, st.st_gid)
                os.chmod(path, stat.S_IMODE(st.st_mode))
                _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
            fd = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
            return Mounts(fd)
        finally:
            for fd in held:
                os.close(fd)

    return in_own_thread("reweb-local-mountns", inside, Unavailable)


#: "" when instances can have a /tmp of their own here, else why not (checked once).
mounts_unavailable = Probe(lambda: create_mounts(1, []).close(), Unavailable)


# ---- memory ---------------------------------------------------------------------------------------------------

_V2 = "/sys/fs/cgroup"
_V1 = "/sys/fs/cgroup/memory"


def _own_cgroup(controller: str) -> str:
    """This process's cgroup path for `controller` ("" for the v2 line)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            if names == controller or (controller and controller in names.split(",")):
                return path
    return "/"


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


_swept: set[str] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        pass
    return True


def _remove_orphans(parent: str) -> None:
    """The groups a reweb local killed by SIGKILL left in `parent` (its instances died with it; its Cgroup.close
    never ran): reweb-local-<pid> whose process is gone, its instance groups then itself. The kernel removes only
    empty groups (EBUSY otherwise), so one with tasks, anyone's, stays. Once per parent."""
    if parent in _swept:
        return
    _swept.add(parent)
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            pid = entry.name.removeprefix("reweb-local-")
            if pid == entry.name or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
                continue
            with contextlib.suppress(OSError):
                for child in os.scandir(entry.path):
                    if child.is_dir(follow_symlinks=False):
                        with contextlib.suppress(OSError):
                            os.rmdir(child.path)
            with contextlib.suppress(OSError):
                os.rmdir(entry.path)


class Cgroup:
    """One instance's memory cgroup."""

    def __init__(self, path: str, v2: bool) -> None:
        self.path = path
        self.v2 = v2
        self.final_peak: int | None = None  # read just before the cgroup is removed

    @classmethod
    def create(cls, name: str, memory_mb: int) -> Cgroup:
        """A new cgroup named `name` under ours, limited to `memory_mb` without swap. Raises Unavailable."""
        errors = []
        for v2 in (True, False):
            try:
                return cls._make(name, memory_mb, v2)
            except OSError as exc:
                errors.append(f"cgroup {'v2' if v2 else 'v1'}: {exc.strerror or exc}")
        raise Unavailable("; ".join(errors))

    @classmethod
    def _make(cls, name: str, memory_mb: int, v2: bool) -> Cgroup:
        limit = str(memory_mb << 20)
        if v2:
            parent = os.path.normpath(_V2 + _own_cgroup(""))
            if "memory" not in _read(f"{parent}/cgroup.controllers").split():
                raise OSError(0, f"no memory controller in {parent}")
            _remove_orphans(parent)
            # A process may not sit in a cgroup whose children have controllers (no internal processes): the
            # instances go into a group of their own beside us.
            base = os.path.join(parent, f"reweb-local-{os.getpid()}")
            os.makedirs(base, exist_ok=True)
            if "memory" not in _read(f"{base}/cgroup.subtree_control").split():
                _write(f"{base}/cgroup.subtree_control", "+memory")
            path = os.path.join(base, name)
            os.mkdir(path)
            _write(f"{path}/memory.max", limit)
            with contextlib.suppress(OSError):  # no swap accounting at all: nothing can be swapped either
                _write(f"{path}/memory.swap.max", "0")
            with contextlib.suppress(OSError):  # an OOM kill takes the whole group, as it ends a sandbox on Lambda
                _write(f"{path}/memory.oom.group", "1")
        else:
            parent = os.path.normpath(_V1 + _own_cgroup("memory"))
            if not os.path.isdir(parent):
                raise OSError(0, f"{parent} is not mounted here")
            _remove_orphans(parent)
            base = os.path.join(parent, f"reweb-local-{os.getpid()}")
            os.makedirs(base, exist_ok=True)
            path = os.path.join(base, name)
            os.mkdir(path)
            _write(f"{path}/memory.limit_in_bytes", limit)
            with contextlib.suppress(OSError):
                _write(f"{path}/memory.memsw.limit_in_bytes", limit)
        return cls(path, v2)

    def join(self) -> Callable[[], None]:
        """A preexec function: move the new process (and so all it starts) into this cgroup."""
        procs = os.path.join(self.path, "cgroup.procs").encode()

        def join() -> None:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

        return join

    def oom_kills(self) -> int:
        """How many processes the kernel killed here for going over the limit."""
        try:
            text = _read(os.path.join(self.path, "memory.events" if self.v2 else "memory.oom_control"))
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def peak_mib(self) -> int:
        if self.final_peak is not None:
            return self.final_peak
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        try:
            return int(_read(os.path.join(self.path, name))) >> 20
        except (OSError, ValueError):
            return 0

    def pids(self) -> list[int]:
        """The processes in this cgroup now (v1 lists them in cgroup.procs too)."""
        try:
            return [int(word) for word in _read(os.path.join(self.path, "cgroup.procs")).split()]
        except (OSError, ValueError):
            return []

    def kill(self) -> list[int]:
        """SIGKILL every process in the cgroup, wherever it went in the process tree (a new session, re-parented
        to init, started a moment ago), as a dying sandbox takes them all on Lambda. v2's cgroup.kill does it
        at once, forks included; otherwise each listed one is woken (SIGCONT: a frozen one) and killed. Returns
        those still listed (exiting, or just forked: the caller calls again until none is)."""
        if self.v2:
            with contextlib.suppress(OSError):
                _write(os.path.join(self.path, "cgroup.kill"), "1")
        return _kill_all(self.pids())

    def close(self) -> None:
        """Remove the cgroup (once its processes are gone; the kernel refuses before)."""
        if self.final_peak is None:
            self.final_peak = self.peak_mib()
        with contextlib.suppress(OSError):
            os.rmdir(self.path)
        with contextlib.suppress(OSError):  # the per-run group, when it is the last instance's
            os.rmdir(os.path.dirname(self.path))


_cgroup_probe: str | None = None


def cgroups_unavailable(memory_mb: int) -> str:
    """"" when instances can have a memory limit of their own here, else why not (checked once)."""
    global _cgroup_probe
    if _cgroup_probe is None:
        try:
            Cgroup.create("probe", memory_mb).close()
            _cgroup_probe = ""
        except Unavailable as exc:
            _cgroup_probe = str(exc)
    return _cgroup_probe
