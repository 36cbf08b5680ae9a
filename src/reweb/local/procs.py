"""Process-tree chores for an instance: find every descendant, freeze, thaw, kill, measure memory.

An instance is started in its own session, so its process group normally holds reweb and the app. But
an app may start its own session or group (daemons, some servers do), so every operation walks the
real tree from /proc as well and signals each group and each process found. Linux only, like Lambda.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable

from ..tree import proc_stats

_stats = proc_stats  # the same walker as the adapter's (reweb.tree)


_PR_SET_PDEATHSIG = 1


def bound_to_us(then: Callable[[], None] | None = None) -> Callable[[], None]:
    """A preexec function (after `then`): the instance is SIGKILLed by the kernel when reweb local dies, even
    SIGKILLed itself and even while the instance is frozen (a stopped process still takes SIGKILL; its
    lifeline, woken by its own parent-death signal, then kills the app). The signal follows the thread that
    forks: asyncio spawns from the event loop's, which lives as long as reweb local serves."""
    parent = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork: the child only calls it

    def child() -> None:
        if then is not None:
            then()
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # reweb local died before the line above: nobody would send the signal
            os._exit(125)

    return child


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, fields in _stats():
        children.setdefault(int(fields[1]), []).append(pid)
    return children


def tree(root: int) -> list[int]:
    """root and all its descendants (parents before children)."""
    children = _children_map()
    out: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _signal_all(root: int, pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid in tree(root):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def freeze(root: int, pgid: int) -> None:
    _signal_all(root, pgid, signal.SIGSTOP)


def thaw(root: int, pgid: int) -> None:
    _signal_all(root, pgid, signal.SIGCONT)


def kill(root: int, pgid: int) -> None:
    """SIGKILL the group and every descendant; collect the tree first so re-parented orphans are caught.

    Processes that already left the tree (double-forked daemons) are out of reach here; the group kill catches
    those that stayed in the group, and the instance's sandbox (instances._end_sandbox: its cgroup, mount
    namespace or sessions) takes the rest, as a dying Lambda sandbox takes every process with it.
    """
    pids = tree(root)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is pgid."""
    return [pid for pid, fields in _stats() if fields[0] != b"Z" and int(fields[2]) == pgid]


def _status_kib(pid: int, keys: tuple[bytes, ...]) -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    for path in (f"/proc/{pid}/status", f"/proc/{pid}/smaps_rollup"):
        try:
            with open(path, "rb") as f:
                for line in f:
                    if line.startswith(keys):
                        key, value = line.split(b":", 1)
                        found[key] = int(value.split()[0])
        except (OSError, ValueError):
            continue
    return found


def memory_kib(pids: list[int]) -> tuple[int, int]:
    """(now, peak) of a tree, counted as Lambda's cgroup counts it: a page shared by several processes (a
    fork's copy-on-write pages, shared libraries) once. Now is the sum of each process's proportional set
    size (Pss); the peak scales each process's peak RSS (VmHWM) by its unshared fraction (Pss / RSS)."""
    now = peak = 0
    for pid in pids:
        values = _status_kib(pid, (b"VmRSS:", b"VmHWM:", b"Pss:"))
        rss, hwm = values.get(b"VmRSS", 0), values.get(b"VmHWM", 0)
        pss = values.get(b"Pss", rss)
        now += pss
        peak += hwm * pss // rss if rss else hwm
    return now, peak


def tree_rss_mib(root: int) -> int:
    """Current memory of the whole tree, MiB (what Lambda's memory limit is checked against)."""
    return memory_kib(tree(root))[0] // 1024


def tree_peak_mib(root: int) -> int:
    """The tree's peak memory, MiB, as Max Memory Used (an estimate: see memory_kib)."""
    return memory_kib(tree(root))[1] // 1024
