"""The app's process tree, as the kernel sees it: how to start a command, who holds a port, which processes
were re-parented to us. Linux only, like Lambda; nothing here runs on the hot path."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

# Not contextlib either (try/except instead of contextlib.suppress): its 18 classes are built at import, ~1.7 M
# instructions of the executable's init, and nothing else on the init path needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
else:  # the C module: `signal` builds three enums at import (~5% of the executable's init); numbers suffice here
    import _signal as signal

# Characters that only a shell gives meaning to. Quotes and backslashes alone do not need one (shlex splits
# them the same way); `~` and `#` only at the start of a word. Plain string tests, not a regex: compiling one
# costs the executable's init more than the few commands it ever checks.
_SHELL_CHARS = frozenset(";&|()<>`$\n*?[")
_WORD_START_CHARS = "~#"


def has_shell_syntax(command: str) -> bool:
    """Whether `command` needs a shell: one of _SHELL_CHARS anywhere, or `~` or `#` at the start of a word
    (at the start, or after whitespace as str.isspace tells it)."""
    if not _SHELL_CHARS.isdisjoint(command):
        return True
    for char in _WORD_START_CHARS:
        at = command.find(char)
        while at >= 0:
            if at == 0 or command[at - 1].isspace():
                return True
            at = command.find(char, at + 1)
    return False

# Shell keywords and builtins: these need a shell even in a plain command line.
_SHELL_WORDS = frozenset({
    "!", "{", ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "eval", "exec", "exit",
    "export", "fg", "for", "getopts", "hash", "if", "jobs", "local", "read", "readonly", "return", "set", "shift",
    "source", "time", "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
})
SHELL = "/bin/sh"


class CommandError(Exception):
    """The app's command cannot be started; the message says why, in one line."""


def command_argv(command: str) -> list[str]:
    """The argv to execute for a command line: split and executed directly when it is a plain command (so
    images without a shell work, and the app is reweb's own child), through /bin/sh -c only when it has shell
    syntax."""
    words = command.split()
    if not words:
        raise CommandError("the app's command is empty")
    if (has_shell_syntax(command) or words[0] in _SHELL_WORDS
            or ("=" in words[0] and not words[0].startswith(("=", "/", ".")))):
        if not os.access(SHELL, os.X_OK):
            raise CommandError(f"the app's command needs a shell (it has shell syntax: {command[:80]!r}) "
                               f"but this image has no {SHELL}; give a plain command or add a shell")
        return [SHELL, "-c", command]
    if "'" in command or '"' in command or "\\" in command:
        import shlex

        try:
            return shlex.split(command)
        except ValueError as exc:
            raise CommandError(f"the app's command cannot be split into words: {exc}") from None
    return words


def describe_spawn_error(argv0: str, exc: OSError) -> str:
    import errno

    if isinstance(exc, FileNotFoundError):
        where = "" if "/" in argv0 else " on PATH"
        return f"cannot start the app: no such command{where}: {argv0}"
    if isinstance(exc, PermissionError):
        return f"cannot start the app: {argv0} is not executable (permission denied)"
    if exc.errno == errno.ENOEXEC:
        return (f"cannot start the app: {argv0} is not an executable for this machine "
                f"(exec format error: built for another architecture, or a script without #!)")
    return f"cannot start the app: {argv0}: {exc.strerror or exc}"


def set_child_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux PR_SET_CHILD_SUBREAPER): a server
    that a wrapper script started stays in our tree when the script exits, so restarts can find it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, ImportError, AttributeError):
        return False


def proc_stats() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, the fields of /proc/pid/stat from the state on) for every process that can be read."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ")".
        yield int(entry), stat[stat.rfind(b")") + 2:].split()


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process."""
    return {pid: int(fields[1]) for pid, fields in proc_stats() if fields[0] != b"Z"}


def descendants(root: int, parents: dict[int, int] | None = None) -> list[int]:
    """Live processes below root (not root itself)."""
    parents = _parents() if parents is None else parents
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def kill_all(pids: list[int]) -> None:
    """SIGKILL each process and its process group (a server may have made a group of its own)."""
    for pid in pids:
        try:  # noqa: SIM105 (no contextlib at init)
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:  # noqa: SIM105 (no contextlib at init)
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _listening_sockets() -> dict[str, int]:
    """socket:[inode] -> port of every listening TCP socket in this network namespace."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":
                        sockets[f"socket:[{fields[9]}]"] = int(fields[1].rsplit(":", 1)[1], 16)
        except (OSError, IndexError, ValueError):
            continue
    return sockets


def _socket_owners(sockets: dict[str, int], pids: list[int]) -> dict[int, int]:
    """port -> pid for the sockets held open by any of `pids`."""
    owners: dict[int, int] = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    port = sockets.get(os.readlink(f"/proc/{pid}/fd/{fd}"))
                    if port is not None:
                        owners.setdefault(port, pid)
                except OSError:
                    pass
        except OSError:
            pass
    return owners


def port_listeners(port: int) -> list[int]:
    """The pids with a listening TCP socket on `port` (any address), from /proc/net/tcp{,6}."""
    sockets = {inode: p for inode, p in _listening_sockets().items() if p == port}
    if not sockets:
        return []
    everyone = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    return [pid for pid in everyone if _socket_owners(sockets, [pid])]


def listening_ports(pids: list[int]) -> list[int]:
    """The TCP ports that any of `pids` listens on (to tell a user where their app really is)."""
    sockets = _listening_sockets()
    return sorted(_socket_owners(sockets, pids)) if sockets else []


def describe_pids(pids: list[int]) -> str:
    if not pids:
        return "a process reweb cannot see"
    names = []
    for pid in pids[:3]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            cmdline = "?"
        names.append(f"pid {pid} ({cmdline[:60]})")
    return ", ".join(names)


def take_early_app() -> tuple[int, float, int, list[str]] | None:
    """The app the one-file executable's C main() spawned before the interpreter started, if it did:
    (pid, monotonic spawn time, port, argv) from _REWEB_APP, which is taken out of the environment."""
    given = os.environ.pop("_REWEB_APP", "")
    try:
        pid, spawned_ns, port, words = given.split(":", 3)
        return int(pid), int(spawned_ns) / 1e9, int(port), words.split("\x1f")
    except ValueError:
        return None


def start_lifeline() -> tuple[int, int]:
    """A tiny process that outlives reweb by a moment: it reads process group ids from a pipe and, when the
    pipe's other end closes (reweb exited or was SIGKILLed: the kernel closes our end either way), SIGKILLs
    the last group it was given. Only the direct child would get a parent-death signal; this reaches the
    whole group, grandchildren included. In a session of its own, so a signal to reweb's group spares it.
    Forked (not executed): nothing to find on disk, ~no start cost. Returns (pid, write end).
    The one-file executable's C main() forks it before the interpreter starts (a few hundred KB, not a copy of
    Python) and names it in _REWEB_LIFELINE=PID:FD: adopted here, and taken out of the environment the app gets."""
    given = os.environ.pop("_REWEB_LIFELINE", "")
    if given:
        try:
            pid_text, _, fd_text = given.partition(":")
            pid, fd = int(pid_text), int(fd_text)
            if stat.S_ISFIFO(os.fstat(fd).st_mode):  # still the pipe: else fork one below
                return pid, fd
        except (ValueError, OSError):
            pass
    read_end, write_end = os.pipe()  # both close-on-exec: the app never holds the write end open
    pid = os.fork()
    if pid:
        os.close(read_end)
        return pid, write_end
    try:  # the lifeline: no Python objects of reweb's touched, only the pipe
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)  # not reweb's shutdown handler: this process has no app to stop
        os.setsid()
        # Woken (SIGCONT) when reweb dies: `reweb local` freezes instances with SIGSTOP, and a stopped lifeline
        # would never see the pipe close. Had reweb died before this, the pipe is closed already.
        # ctypes is absent from the one-file executable (its C main sets the subreaper instead): without it the
        # lifeline must still run, so an ImportError only costs the wake-up, never the lifeline itself.
        try:
            import ctypes  # already loaded by set_child_subreaper where it exists

            ctypes.CDLL(None).prctl(1, signal.SIGCONT, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError, ImportError):
            pass
        os.closerange(0, read_end)
        os.closerange(read_end + 1, 1 << 16)
        group = 0
        pending = b""
        while True:
            data = os.read(read_end, 64)
            if not data:
                break
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                group = int(line or b"0")
        if group > 0:
            try:  # noqa: SIM105 (no contextlib at init)
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass
    finally:
        os._exit(0)
