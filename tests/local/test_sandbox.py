"""A sandbox per instance, as on Lambda: a /tmp of its own (a tmpfs of --ephemeral-storage MB) and the memory limit of
--memory (a cgroup), with what the app was told about under /tmp bound through."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reweb.local import sandbox
from tests.support.http_client import fetch
from tests.support.localharness import Local, alive, console_without_sys_admin

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]  # every test starts processes

# An app that answers what it finds and does in /tmp: GET /clear?id=N removes /tmp/app and refills it (as MediaWiki's
# and Redmine's start scripts do at every cold start), GET /fill?mb=N writes N MB to /tmp, GET /hog?mb=N allocates.
APP = r'''
import errno, http.server, json, os, shutil, sys, time, urllib.parse

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        out = {"pid": os.getpid()}
        if url.path == "/clear":
            shutil.rmtree("/tmp/app", ignore_errors=False) if os.path.exists("/tmp/app") else None
            os.makedirs("/tmp/app/sub")
            for i in range(200):
                with open(f"/tmp/app/sub/{i}", "w") as f:
                    f.write(q["id"])
            time.sleep(0.3)  # the others clear theirs meanwhile: on one shared /tmp, this one's files go
            out["files"] = len(os.listdir("/tmp/app/sub"))
            out["mine"] = all(open(f"/tmp/app/sub/{i}").read() == q["id"] for i in range(200))
        elif url.path == "/fill":
            try:
                with open("/tmp/fill", "wb") as f:
                    for _ in range(int(q["mb"])):
                        f.write(b"x" * (1 << 20))
                        f.flush()
                out["error"] = None
            except OSError as exc:
                out["error"] = errno.errorcode.get(exc.errno, str(exc.errno))
            os.remove("/tmp/fill")
        elif url.path == "/hog":
            hog = bytearray(int(q["mb"]) << 20)
            for i in range(0, len(hog), 4096):
                hog[i] = 1
            out["survived"] = True
        elif url.path == "/daemon":  # a child in a session of its own (as a server's worker or a daemon)
            import subprocess
            out["daemon"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                             start_new_session=True).pid
        elif url.path == "/see":
            out["sees"] = os.path.exists(q["path"])
            out["tmp"] = sorted(os.listdir("/tmp"))
        body = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def _needs_sandbox() -> None:
    if why := sandbox.mounts_unavailable():
        pytest.skip(f"no mount namespaces here: {why}")


def _start(run_local: Callable[..., Local], tmp_path: Path, *args: str) -> Local:
    (tmp_path / "app.py").write_text(APP)
    return run_local([*args], app=[sys.executable, str(tmp_path / "app.py"), "8080"],
                     env={"REWEB_APPLICATION_PORT": "8080"})


def test_each_instance_clears_its_own_tmp(run_local: Callable[..., Local], tmp_path: Path) -> None:
    """Eight parallel cold starts each empty and refill /tmp/app: on one shared /tmp they tread on each other
    (rmtree fails with ENOTEMPTY or a file is the neighbour's); each in its own /tmp, every one stays whole."""
    _needs_sandbox()
    local = _start(run_local, tmp_path)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: fetch(local.port, f"/clear?id={i}"), range(8)))
    assert [a.status for a in answers] == [200] * 8, local.lines[-30:]
    docs = [json.loads(a.body) for a in answers]
    assert all(d["files"] == 200 and d["mine"] for d in docs), docs
    assert len({d["pid"] for d in docs}) == 8  # eight instances, eight apps
    assert not Path("/tmp/app").exists()  # nothing of it reached this machine's /tmp


def test_tmp_past_ephemeral_storage_is_enospc_and_what_the_app_was_told_is_there(run_local: Callable[..., Local],
                                                                               tmp_path: Path) -> None:
    _needs_sandbox()
    local = _start(run_local, tmp_path, "--ephemeral-storage", "512", "--memory", "2048")
    doc = json.loads(fetch(local.port, "/fill?mb=600").body)
    assert doc["error"] == "ENOSPC", doc
    assert json.loads(fetch(local.port, "/fill?mb=100").body)["error"] is None  # under the size, it fits
    # The app's own directory (named on its command line) is bound through; the rest of this machine's /tmp is not.
    seen = json.loads(fetch(local.port, f"/see?path={tmp_path / 'app.py'}").body)
    assert seen["sees"], seen
    unnamed = Path(f"/tmp/reweb-sandbox-test-{os.getpid()}")
    unnamed.touch()
    try:
        assert not json.loads(fetch(local.port, f"/see?path={unnamed}").body)["sees"]
    finally:
        unnamed.unlink()


def test_ephemeral_storage_is_checked(run_local: Callable[..., Local], tmp_path: Path) -> None:
    from reweb.local.options import UsageError, parse

    assert parse(["--", "app"]).ephemeral_storage == 512  # Lambda's default
    assert parse(["--ephemeral-storage", "10240", "--", "app"]).ephemeral_storage == 10240
    for bad in ("511", "10241"):
        with pytest.raises(UsageError, match="--ephemeral-storage"):
            parse(["--ephemeral-storage", bad, "--", "app"])


def test_an_app_over_its_memory_is_killed_and_reported(run_local: Callable[..., Local], tmp_path: Path) -> None:
    if why := sandbox.cgroups_unavailable(128):
        pytest.skip(f"no memory cgroups here: {why}")
    # One instance at a time: every request below goes to instance 1 until it dies.
    local = _start(run_local, tmp_path, "--memory", "128", "--concurrency", "1")
    assert fetch(local.port, "/see?path=/").status == 200  # instance 1 is up, idle: the next request is its
    instance = _instance_processes(local)
    mnt = os.readlink(f"/proc/{json.loads(fetch(local.port, '/see?path=/').body)['pid']}/ns/mnt")
    answer = fetch(local.port, "/hog?mb=400")
    assert answer.status == 500  # HTTP API's answer to a function error
    local.wait_for("Error Type: Runtime.OutOfMemory")
    local.wait_for("Error: Runtime exited with error: signal: killed")
    # On Lambda the sandbox goes with every process in it: none of instance 1's is left (the app included).
    # reweb restarts the app it saw killed while reweb local kills the instance: that new app must go too.
    assert not _left_of(instance | _in_namespace(mnt, local)), _describe(_left_of(instance | local.seen))
    report = next(line for line in local.lines if line.startswith("REPORT") and "OutOfMemory" in line)
    assert "Status: error" in report and "Max Memory Used: 128 MB" in report, report
    state = json.loads(fetch(local.port, "/__reweb/api/state").body)
    assert [i["detail"] for i in state["instances"]] == ["killed: over 128 MB"], state["instances"]
    assert json.loads(fetch(local.port, "/hog?mb=20").body)["survived"]  # a new instance, under the limit


def _instance_processes(local: Local) -> set[int]:
    """The processes below reweb local now (its instances: runtime, lifeline, app), also handed to the fixture,
    which SIGKILLs any left when the test ends, even when it fails."""
    local.remember_tree()
    assert len(local.seen) >= 2, local.seen
    return set(local.seen)


def _in_namespace(mnt: str, local: Local) -> set[int]:
    """Every process in the mount namespace `mnt` (an app's, read while it ran: one per instance), found from /proc
    over the next seconds (what is started meanwhile, a restarted app, is in it too); handed to the fixture."""
    assert mnt != os.readlink("/proc/self/ns/mnt")  # the instance's own (the test needs the sandbox)
    found: set[int] = set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/ns/mnt") == mnt:
                        found.add(int(entry))
        time.sleep(0.1)
    local.seen.update(found)
    return found


def _left_of(pids: set[int], within: float = 10.0) -> list[int]:
    """Those of `pids` still alive once they had `within` seconds to go (re-parented orphans included)."""
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return sorted(pid for pid in pids if alive(pid))


def _describe(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
            wchan = Path(f"/proc/{pid}/wchan").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        out.append(f"{pid} ppid={fields[1].decode()} state={fields[0].decode()} wchan={wchan} {cmd}")
    return out


def test_a_crashed_instance_takes_every_process_of_its_sandbox_with_it(run_local: Callable[..., Local],
                                                                        tmp_path: Path) -> None:
    """The runtime dies (SIGKILL: a crash): its app's child in a session of its own (a worker, a daemon) is no
    longer below anyone we know, and is gone all the same, as on Lambda when a sandbox dies."""
    _needs_sandbox()
    local = _start(run_local, tmp_path, "--concurrency", "1")
    doc = json.loads(fetch(local.port, "/daemon").body)
    app, daemon = doc["pid"], doc["daemon"]
    mnt = os.readlink(f"/proc/{app}/ns/mnt")
    instance = _instance_processes(local)
    assert {app, daemon} <= instance, (app, daemon, instance)
    runtime = next(pid for pid in instance if _ppid(pid) == local.proc.pid)
    os.kill(runtime, signal.SIGKILL)
    assert not _left_of(instance | _in_namespace(mnt, local)), _describe(_left_of(instance | local.seen))
    assert fetch(local.port, "/see?path=/").status == 200  # a new instance serves


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat[stat.rfind(b")") + 2:].split()[1])


def test_without_mount_namespaces_one_line_says_so() -> None:
    """Root without CAP_SYS_ADMIN (as a plain user: the machine as it is): no /tmp of their own, said in one line."""
    app = [sys.executable, "-m", "http.server", "8080", "--bind", "127.0.0.1"]
    lines = console_without_sys_admin([], app)
    said = [line for line in lines if "cannot have a /tmp of their own here" in line]
    assert len(said) == 1 and "--ephemeral-storage" in said[0], lines


def test_a_bind_path_that_cannot_be_opened_leaves_no_descriptor_open(tmp_path: Path) -> None:
    """The handles on the paths to bind are taken one by one: when one fails, those taken before it are closed."""
    _needs_sandbox()
    paths = [str(tmp_path), str(Path(sandbox.TMP)), str(tmp_path / "missing")]
    before = set(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(sandbox.Unavailable, match="No such file"):
            sandbox.create_mounts(1, paths)
    leaked = set(os.listdir("/proc/self/fd")) - before
    assert not leaked, sorted(leaked)


def _memory_groups_of(pid: int) -> list[Path]:
    """Where reweb local `pid` makes its instances' memory cgroups (cgroup v2, or v1's memory hierarchy)."""
    groups = []
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if names == "":
            groups.append(Path("/sys/fs/cgroup" + path.rstrip("/")) / f"reweb-local-{pid}")
        elif "memory" in names.split(","):
            groups.append(Path("/sys/fs/cgroup/memory" + path.rstrip("/")) / f"reweb-local-{pid}")
    return groups


def test_the_memory_groups_a_sigkilled_reweb_local_left_are_removed_by_the_next(run_local: Callable[..., Local],
                                                                                 tmp_path: Path) -> None:
    """SIGKILL gives reweb local no time to remove its cgroups (its instances die with it, the groups stay, empty):
    the next one started under the same parent group removes those whose reweb local is gone."""
    if why := sandbox.cgroups_unavailable(128):
        pytest.skip(f"no memory cgroups here: {why}")
    first = _start(run_local, tmp_path, "--memory", "128")
    assert fetch(first.port, "/see?path=/").status == 200  # one instance, in a group of its own
    groups = [g for g in _memory_groups_of(first.proc.pid) if (g / "instance-1").is_dir()]
    assert groups, _memory_groups_of(first.proc.pid)
    first.remember_tree()
    first.proc.kill()
    first.proc.wait(10)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in first.seen) and time.monotonic() < deadline:  # its instances go with it
        time.sleep(0.05)
    assert not [pid for pid in first.seen if alive(pid)]
    assert all(g.is_dir() for g in groups)  # left behind, as nothing removed them
    second = _start(run_local, tmp_path, "--memory", "128")
    deadline = time.monotonic() + 10
    while any(g.exists() for g in groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [g for g in groups if g.exists()], second.lines[-20:]


_SLEEPER = "import os, time; os.fork() or (os.setsid(), time.sleep(120)); time.sleep(120)"  # a child in its own session


def _spawn_sleepers(preexec: Callable[[], object] | None = None) -> tuple[int, list[int]]:
    """A process that starts a child in a session of its own (both sleep); (its pid, both pids)."""
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", _SLEEPER], preexec_fn=preexec,
                            start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        from tests.support.localharness import descendants

        if kids := descendants(proc.pid):
            return proc.pid, [proc.pid, *kids]
        time.sleep(0.02)
    raise AssertionError("the child never started")


def test_without_a_cgroup_what_is_in_an_instance_mount_namespace_is_killed() -> None:
    """The fallback where there is no memory cgroup: every process in the instance's mount namespace, whatever its
    session, is SIGKILLed (a stopped one too)."""
    _needs_sandbox()
    from reweb.local.instances import _enter_mounts

    # The interpreter is bound through when it lives under /tmp (a checkout there, its test venv), as
    # reweb local binds what an instance's command names.
    mounts = sandbox.create_mounts(1, sandbox.named_tmp_paths([sys.executable]))
    pids: list[int] = []
    try:
        root, pids = _spawn_sleepers(_enter_mounts(mounts.fd, "/"))  # its /tmp is a new one: tmp_path is not there
        os.kill(pids[-1], signal.SIGSTOP)  # frozen, as reweb local leaves idle instances
        # Called until the processes it must find are gone (as instances._end_sandbox calls it until nothing is
        # left), not only until one scan finds nothing: a scan can race a process still being created.
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            sandbox.kill_namespace(mounts)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(root, os.WNOHANG)
            time.sleep(0.02)
        assert not _left_of(set(pids)), _describe(_left_of(set(pids)))
    finally:
        mounts.close()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pids[0] if pids else -1, os.WNOHANG)


def test_without_cgroup_nor_namespace_the_sessions_read_while_the_tree_was_whole_are_killed() -> None:
    """The last fallback: the sessions and groups of the instance's tree, read while it was whole, are killed from
    /proc once its root is gone (its child in a session of its own was re-parented away)."""
    pids: list[int] = []
    try:
        root, pids = _spawn_sleepers()
        sessions = sandbox.sessions_of(pids)
        assert set(pids) <= sessions, (pids, sessions)  # each a session leader here
        os.kill(root, signal.SIGKILL)
        os.waitpid(root, 0)
        deadline = time.monotonic() + 10
        while sandbox.kill_sessions(sessions) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _left_of(set(pids)), _describe(_left_of(set(pids)))
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
