"""Harness of the real-application suite: start an app (directly or behind `reweb local`), talk raw HTTP to it.

Nothing here knows a particular app; each test module describes its app with an `AppSpec` and uses `Client`.
The HTTP client is the standard library's `http.client` on purpose: it sends the path and query bytes exactly as
given, never follows redirects, keeps repeated response headers in order and does not decompress.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import gzip
import http
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from reweb.local.ports import free_port

T = TypeVar("T")

KIT = Path(os.environ.get("REWEB_APPS_KIT", "/opt/reweb-apps"))
#: The apps run as a system user of this run's own (this process's pid in its name), made at first use and
#: removed at exit: a process or file of another program's `reweb-app`, or of an earlier run, is never taken for
#: this run's, and the teardown never kills another's process. REWEB_APP_USER names an existing user instead.
APP_USER = os.environ.get("REWEB_APP_USER") or f"reweb-app-{os.getpid()}"
DB_USER = "nobody"
LOG_DIR = Path(os.environ.get("REWEB_APPS_LOGS", "/tmp/reweb-apps-logs"))
HERE = Path(__file__).resolve().parent
PYCACHE = HERE.parents[1] / "build" / "pycache"
#: The guides' folders (docs/apps/<guide>/): the one home of the apps' own code and configs (install.sh copies
#: them into KIT).
GUIDES = HERE.parents[1] / "docs" / "apps"

#: How each app is reached: `direct` (no reweb at all) or a front door emulated by `reweb local`. Every front door a
#: user can put before a Lambda function is here: API Gateway HTTP API and REST API, ALB single-value and
#: multi-value, a Function URL buffered and with response streaming, VPC Lattice. Where the front door itself
#: differs from the app run directly (an AWS limit), a test asks the helpers below instead of naming modes.
MODES = ("direct", "http-api", "rest", "alb", "alb-multi", "function-url", "function-url-stream", "lattice")
REWEB_MODES = MODES[1:]

#: `reweb local` arguments for each mode (the streaming Function URL is `--source function-url --stream`).
SOURCE_ARGS: dict[str, tuple[str, ...]] = {
    "http-api": ("--source", "http-api"),
    "rest": ("--source", "rest"),
    "alb": ("--source", "alb"),
    "alb-multi": ("--source", "alb-multi"),
    "function-url": ("--source", "function-url"),
    "function-url-stream": ("--source", "function-url", "--stream"),
    "lattice": ("--source", "lattice"),
}

TEST_PNG = KIT / "testdata" / "test.png"
RANDOM_BIN = KIT / "testdata" / "random.bin"
PASSWORD = "s3cret-Pass"

PG_PORT = 54329
MARIADB_PORT = 33069

#: ALB's limit for a Lambda target's response JSON, 1 MB (so base64 costs a third for binary bodies), and for the
#: request body (Elastic Load Balancing guide, "Lambda functions as targets", Limits:
#: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).
ALB_LIMIT = 1_048_576
#: Lambda's buffered (RequestResponse) payload limit, 6 MB for the whole JSON result
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); a streamed answer may be 200 MB.
BUFFERED_LIMIT = 6 * 1_048_576
ALB_MODES = ("alb", "alb-multi")


#: The AWS limits a test met in its mode, by key (conftest files them under the app and mode in the results, and
#: tools/compat_table.py turns them into footnotes of the README table). Each helper below that changes an
#: expectation because of the front door records its key here, so a cell that differs is never silent.
LIMITS = {
    "last-repeat": "ALB single-value passes only the last of repeated query keys and headers",
    "alb-1mb": "ALB takes at most 1 MB of response JSON (base64 included): reweb answers 502 above it",
    "alb-1mb-request": "ALB refuses a request body over 1 MB with 413",
    "no-reason": "API Gateway and Function URLs have no reason-phrase field: the client sees the standard one",
}
_met: set[str] = set()


def met(key: str) -> None:
    """Record that the running test expects an AWS limit (a key of LIMITS) instead of the app's own behaviour."""
    assert key in LIMITS, key
    _met.add(key)


def take_limits() -> list[str]:
    """The limits met since the last call, sorted; clears them (conftest calls it after each test)."""
    out = sorted(_met)
    _met.clear()
    return out


def is_alb(mode: str) -> bool:
    """True for both ALB modes (single-value `alb` and `alb-multi`)."""
    return mode in ALB_MODES


def over_alb_limit(mode: str, size: int, binary: bool) -> bool:
    """True when a response body of `size` bytes cannot pass ALB to Lambda: the suite then expects reweb's 502.

    Holds for both ALB modes; every other mode returns False (their limits are 6 MB buffered, 200 MB streamed).
    The 4 KiB margin is room for the status and headers in the same JSON document.
    """
    if not is_alb(mode):
        return False
    over = (4 * ((size + 2) // 3) if binary else size) > ALB_LIMIT - 4096
    if over:
        met("alb-1mb")
    return over


def over_request_limit(mode: str, size: int) -> bool:
    """True when a request body of `size` bytes is refused by the front door before Lambda (ALB: 1 MB, 413)."""
    over = is_alb(mode) and size > ALB_LIMIT
    if over:
        met("alb-1mb-request")
    return over


def keeps_repeated_query(mode: str) -> bool:
    """False under ALB single-value (`alb`): `?x=1&x=2` reaches the app as `?x=2`.

    With multi-value headers off (the target group's default), ALB passes one value per query key and per header,
    the last one the client sent (Elastic Load Balancing guide, "Lambda functions as targets", section
    "Multi-value headers": https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html).
    Every other mode keeps every repeat in order.
    """
    return mode != "alb"


def last_of_repeats(query: str) -> str:
    """`query` as ALB single-value hands it to the app: for each key the last value, in first-seen key order."""
    last: dict[str, str] = {}
    for part in query.split("&"):
        if part:
            key, _, _value = part.partition("=")
            last[key] = part
    return "&".join(last.values())


def query_as_app_sees(mode: str, query: str) -> str:
    """The raw query string the app gets for a client's `query` in `mode` (only ALB single-value changes it)."""
    return query if keeps_repeated_query(mode) else last_of_repeats(query)


def repeats(mode: str, values: Sequence[T]) -> list[T]:
    """The values of a query key (or header) the client sent `len(values)` times, as the app receives them.

    All of them, in order, except under ALB single-value, where only the last one arrives (see keeps_repeated_query).
    Use it to write one expectation for every mode: `assert doc["a"] == repeats(site.mode, ["1", "2", "3"])`.
    """
    if keeps_repeated_query(mode) or len(values) < 2:
        return list(values)
    met("last-repeat")
    return list(values[-1:])


def keeps_repeated_request_headers(mode: str) -> bool:
    """False under ALB single-value: of a header sent twice, only the last value reaches the app (same AWS page)."""
    return mode != "alb"


def has_reason_phrase(mode: str) -> bool:
    """True where the client sees the app's own reason phrase ("403 Login failed").

    ALB and VPC Lattice take it from the answer's `statusDescription`; API Gateway (REST and HTTP API) and Function
    URLs have no field for it (their Lambda response formats are statusCode, headers, body) and send the standard
    phrase for the code.
    """
    return mode in ("direct", "alb", "alb-multi", "lattice")


def reason_phrase(mode: str, status: int, own: str) -> str:
    """The reason phrase the client sees when the app answers `status own`: its own, or the standard one."""
    if has_reason_phrase(mode):
        return own
    met("no-reason")
    return http.HTTPStatus(status).phrase


def is_streaming(mode: str) -> bool:
    """True for the Function URL with response streaming (the body reaches the client as the app writes it)."""
    return mode == "function-url-stream"


# --------------------------------------------------------------------------------------------------------------- HTTP
@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def set_cookies(self) -> list[str]:
        return self.all("set-cookie")

    def text(self) -> str:
        return self.decoded().decode("utf-8", "replace")

    def decoded(self) -> bytes:
        """The body with a gzip Content-Encoding undone (other encodings are left as they are)."""
        if (self.header("content-encoding") or "").lower() == "gzip":
            return gzip.decompress(self.body)
        return self.body

    def json(self) -> Any:  # what json.loads gives: tests index it as the app documents it
        import json

        return json.loads(self.decoded())

    def __repr__(self) -> str:  # short, for assertion messages
        return f"<Response {self.status} {self.reason!r} {len(self.body)}B headers={self.headers[:12]}>"


@dataclass
class Cookie:
    name: str
    value: str
    path: str
    attrs: dict[str, str]


def parse_set_cookie(line: str, default_path: str = "/") -> Cookie:
    parts = [p.strip() for p in line.split(";")]
    name, _, value = parts[0].partition("=")
    attrs: dict[str, str] = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return Cookie(name.strip(), value.strip(), attrs.get("path") or default_path, attrs)


def _expired(c: Cookie) -> bool:
    if c.attrs.get("max-age") not in (None, "") and c.attrs["max-age"].lstrip("-").isdigit():
        return int(c.attrs["max-age"]) <= 0
    exp = c.attrs.get("expires")
    if exp:
        from email.utils import parsedate_to_datetime

        with contextlib.suppress(TypeError, ValueError):
            return parsedate_to_datetime(exp).timestamp() < time.time()
    return False


@dataclass
class Client:
    """A tiny browser: one base URL, a cookie jar keyed by (name, path) as RFC 6265 says, raw request targets."""

    base: str
    cookies: dict[tuple[str, str], str] = field(default_factory=dict)
    timeout: float = 60.0

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.base).netloc

    @property
    def prefix(self) -> str:
        return urllib.parse.urlsplit(self.base).path.rstrip("/")

    def url(self, target: str) -> str:
        return self.base.rstrip("/") + target

    def cookie_header(self, path: str) -> str:
        vals = [
            f"{name}={value}"
            for (name, cpath), value in sorted(self.cookies.items(), key=lambda kv: -len(kv[0][1]))
            if path == cpath or path.startswith(cpath.rstrip("/") + "/") or cpath == "/"
        ]
        return "; ".join(vals)

    def store(self, resp: Response, path: str) -> None:
        default = path.rsplit("/", 1)[0] or "/"
        for line in resp.set_cookies:
            c = parse_set_cookie(line, default)
            # The jar is keyed by the path the app asked for, stripped of the gateway's stage prefix if it has one.
            key = (c.name, c.path)
            if _expired(c):
                self.cookies.pop(key, None)
            else:
                self.cookies[key] = c.value

    def cookie(self, name: str) -> str | None:
        return next((v for (n, _), v in self.cookies.items() if n == name), None)

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: Sequence[tuple[str, str]] = (),
        *,
        cookies: bool = True,
    ) -> Response:
        """Send `method target` (target is the raw path and query, sent byte for byte after the base's prefix)."""
        parts = urllib.parse.urlsplit(self.base)
        full = self.prefix + target
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout)
        try:
            conn.putrequest(method, full, skip_accept_encoding=True)
            names = {k.lower() for k, _ in headers}
            for k, v in headers:
                conn.putheader(k, v)
            path_only = full.split("?", 1)[0]
            ck = self.cookie_header(path_only) if cookies else ""
            if ck and "cookie" not in names:
                conn.putheader("Cookie", ck)
            if body is not None and "content-length" not in names:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.reason, list(r.getheaders()), data)
        finally:
            conn.close()
        if cookies:
            self.store(resp, path_only)
        return resp

    def get(self, target: str, headers: Sequence[tuple[str, str]] = ()) -> Response:
        return self.request("GET", target, None, headers)

    def head(self, target: str, headers: Sequence[tuple[str, str]] = ()) -> Response:
        return self.request("HEAD", target, None, headers)

    def post_form(
        self, target: str, fields: Sequence[tuple[str, str]], headers: Sequence[tuple[str, str]] = ()
    ) -> Response:
        body = urllib.parse.urlencode(list(fields)).encode()
        return self.request(
            "POST", target, body, [("Content-Type", "application/x-www-form-urlencoded"), *headers]
        )

    def post_json(self, target: str, doc: object, headers: Sequence[tuple[str, str]] = ()) -> Response:
        import json

        body = json.dumps(doc, ensure_ascii=False).encode()
        return self.request("POST", target, body, [("Content-Type", "application/json"), *headers])

    def post_multipart(
        self,
        target: str,
        fields: Sequence[tuple[str, str]],
        files: Sequence[tuple[str, str, str, bytes]],
        headers: Sequence[tuple[str, str]] = (),
    ) -> Response:
        """files: (field, filename, content type, bytes). The filename is sent as raw UTF-8, as browsers do."""
        body, ctype = multipart(fields, files)
        return self.request("POST", target, body, [("Content-Type", ctype), *headers])

    def follow(self, resp: Response, target: str, limit: int = 5) -> tuple[Response, str]:
        """Follow up to `limit` redirects with GET, resolving relative Locations against the current target."""
        for _ in range(limit):
            if resp.status not in (301, 302, 303, 307, 308):
                return resp, target
            loc = resp.header("location") or ""
            assert loc, resp
            if not urllib.parse.urlsplit(loc).netloc and not loc.startswith("/"):
                loc = urllib.parse.urljoin(target, loc)
            target = self.local_path(loc)
            resp = self.get(target)
        raise AssertionError(f"more than {limit} redirects, last {resp!r}")

    def local_path(self, location: str) -> str:
        """Turn a Location (absolute, root-relative) into a request target for this client; fail on a foreign host.

        A relative Location (no leading slash) is not handled here: resolve it against the request first.
        """
        parts = urllib.parse.urlsplit(location)
        if parts.netloc:
            assert parts.netloc == self.host, f"redirect leaves the site: {location!r} (site is {self.host})"
        path = urllib.parse.quote(parts.path, safe="/%:@!$&'()*+,;=-._~")  # as a browser sends it
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        return path + (f"?{parts.query}" if parts.query else "")


def multipart(fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "----rewebBoundary" + uuid.uuid4().hex
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, filename, ctype, data in files:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------------------------------------------------- processes


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def user_ids(name: str) -> tuple[int, int]:
    if name == APP_USER:
        ensure_app_user()
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


_RUN_USER = re.compile(r"reweb-app-(\d+)")


def _uids_in_use() -> set[int]:
    """Owners of processes and of files where an app could write outside /tmp: a uid of a user removed earlier
    may still own some, and must not become this run's."""
    uids = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                uids.add(d.stat().st_uid)
    for top in WRITABLE_OUTSIDE_TMP:
        for root, dirs, files in os.walk(top):
            for n in dirs + files:
                with contextlib.suppress(OSError):
                    uids.add(os.lstat(os.path.join(root, n)).st_uid)
    return uids


def ensure_app_user() -> None:
    """Make this run's app user (as root) unless it exists; remove it at exit. Users of earlier runs whose
    process is gone and that own no process any more are removed first."""
    try:
        pwd.getpwnam(APP_USER)
        return
    except KeyError:
        if os.environ.get("REWEB_APP_USER"):
            raise
    busy = _uids_in_use()
    for pw in pwd.getpwall():
        match = _RUN_USER.fullmatch(pw.pw_name)
        if match and pw.pw_uid not in busy and not Path(f"/proc/{match.group(1)}").exists():
            subprocess.run(["userdel", pw.pw_name], capture_output=True, check=False)
    taken = busy | {pw.pw_uid for pw in pwd.getpwall()} | {g.gr_gid for g in grp.getgrall()}
    uid = next(u for u in range(62000, 63000) if u not in taken)
    argv = ["useradd", "--system", "--user-group", "--uid", str(uid), "--no-create-home", "--home-dir", "/tmp",
            "--shell", "/usr/sbin/nologin", APP_USER]
    for _ in range(20):  # /etc/passwd may be locked a moment by another program (or run) adding a user
        made = subprocess.run(argv, capture_output=True, text=True, check=False)
        if made.returncode == 0:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError(f"could not make this run's app user {APP_USER}: {made.stderr.strip()}")
    atexit.register(_remove_app_user, uid)


def _remove_app_user(uid: int) -> None:
    """At exit: gone with its group, unless a process of it is still running (the next run removes it then)."""
    if uid not in _uids_in_use():
        subprocess.run(["userdel", APP_USER], capture_output=True, check=False)


def as_user(argv: Sequence[str], user: str = APP_USER, env: dict[str, str] | None = None) -> list[str]:
    """Wrap a command so it runs as `user` with no supplementary groups and a clean environment.

    setpriv execs the command, so the PID is the app's own (runuser would fork and sit in between).
    """
    if user == APP_USER:
        ensure_app_user()
    cmd = ["setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}", "--clear-groups", "--"]
    cmd += ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C.UTF-8", "HOME=/tmp"]
    cmd += [f"{k}={v}" for k, v in (env or {}).items()]
    return cmd + list(argv)


def run_as(argv: Sequence[str], user: str = APP_USER, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    p = subprocess.run(as_user(argv, user, env), capture_output=True, text=True, timeout=timeout, cwd="/tmp")
    if p.returncode != 0:
        raise RuntimeError(f"{argv!r} failed ({p.returncode}): {p.stdout[-2000:]} {p.stderr[-2000:]}")
    return p.stdout


def fresh_dir(path: str | Path, user: str = APP_USER) -> Path:
    """Remove and recreate a directory under /tmp owned by `user` (each cold start begins with an empty /tmp)."""
    p = Path(path)
    assert str(p).startswith("/tmp/"), p
    shutil.rmtree(p, ignore_errors=True)
    p.mkdir(parents=True)
    uid, gid = user_ids(user)
    os.chown(p, uid, gid)
    return p


def chown_tree(path: str | Path, user: str = APP_USER) -> None:
    uid, gid = user_ids(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for n in dirs + files:
            os.lchown(os.path.join(root, n), uid, gid)


def user_pids(user: str = APP_USER) -> list[int]:
    uid = user_ids(user)[0]
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError):
                if d.stat().st_uid == uid:
                    pids.append(int(d.name))
    return pids


def describe(pids: Sequence[int]) -> str:
    """pid and command line of each process, for a message about processes left over."""
    out = []
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            cmd = "(gone)"
        out.append(f"{pid} {cmd[:160]}")
    return "; ".join(out)


def wait_until(pred: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def probe(base: str, path: str, ok: Callable[[int], bool]) -> int | None:
    try:
        r = Client(base, timeout=5).request("GET", path, cookies=False)
    except (OSError, http.client.HTTPException):
        return None
    return r.status if ok(r.status) else None


# --------------------------------------------------------------------------------------------------------------- apps
@dataclass
class AppSpec:
    """How to run one app as its Lambda configuration would: a command, its port, its readiness check."""

    name: str
    port: int
    wait_path: str
    command: Callable[[str], list[str]]  # base URL the app is reached at -> argv (run as APP_USER)
    prepare: Callable[[], None] = lambda: None  # root: fresh /tmp state, database reset (before the cold start)
    after_start: Callable[[Client], None] = lambda c: None  # first-use steps through the public URL (installers)
    wait_codes: str = "200-399"  # REWEB_WAIT_CODE
    env: dict[str, str] = field(default_factory=dict)  # the app's own environment
    reweb_env: dict[str, str] = field(default_factory=dict)  # reweb's settings for this app (REWEB_ASYNC_INIT...)
    cwd: str = "/tmp"
    start_timeout: float = 60.0

    def ok(self, status: int) -> bool:
        lo, _, hi = self.wait_codes.partition("-")
        return int(lo) <= status <= int(hi or lo)


@dataclass
class Site:
    spec: AppSpec
    mode: str
    base: str
    #: Directly: from spawning the app to its first answer (as the suite polls: a coarse, loaded figure).
    #: Through reweb local: the emulated Init Duration of the first invocation. bench/cold_start.py measures
    #: both side by side, repeated; the README table takes its figures from there.
    cold_start_ms: float | None
    #: A file the app wrote under its /tmp, by path: on this machine, or in the container of an image under test.
    read_file: Callable[[str], bytes] = field(default=lambda path: Path(path).read_bytes())

    def client(self) -> Client:
        return Client(self.base)


class Running:
    """One started process tree (the app itself, or `reweb local` with the app below it)."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None, cwd: str = "/tmp") -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.argv = argv
        self._fh = open(log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            argv, stdout=self._fh, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_bytes()[-n:].decode("utf-8", "replace")
        return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process (reweb forwards it to the app); then its process group; SIGKILL as the last resort."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        self._fh.close()


INIT_DURATION = re.compile(r"Init Duration: ([0-9.]+) ms")


def reweb_command() -> list[str]:
    exe = shutil.which("reweb")
    return [exe] if exe else [sys.executable, "-m", "reweb"]


def reweb_local_available() -> bool:
    try:
        p = subprocess.run([*reweb_command(), "local", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and "--source" in p.stdout


#: The places outside /tmp where an unprivileged user can still write on a Debian machine (world-writable).
#: On Lambda they are read-only, so an app that writes there works here but fails there: the suite catches it.
WRITABLE_OUTSIDE_TMP = ("/var/tmp", "/dev/shm", "/var/lib/php/sessions", "/run/lock", "/dev/mqueue")


def written_outside_tmp(user: str = APP_USER) -> list[str]:
    uid = user_ids(user)[0]
    found = []
    for top in WRITABLE_OUTSIDE_TMP:
        for root, dirs, files in os.walk(top):
            for n in dirs + files:
                path = os.path.join(root, n)
                with contextlib.suppress(OSError):
                    if os.lstat(path).st_uid == uid:
                        found.append(path)
    return found


def local_command(spec: AppSpec, mode: str, gateway_port: int, base: str) -> tuple[list[str], dict[str, str]]:
    """`reweb local` in front of `spec` for `mode` on `gateway_port`: argv and environment (as run_site runs it)."""
    env = dict(os.environ)
    env.update({"REWEB_APPLICATION_PORT": str(spec.port), "REWEB_WAIT_PATH": spec.wait_path,
                "REWEB_WAIT_CODE": spec.wait_codes})
    env.update(spec.reweb_env)
    # reweb's bytecode cached as an image build leaves it: with PYTHONDONTWRITEBYTECODE (set on this machine) and
    # a source file edited since the last cache write, every instance would compile reweb anew (tens of ms of
    # Init that no deployed function pays). Under build/ (untracked); the app's own environment is untouched.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    argv = [
        *reweb_command(), "local", "--port", str(gateway_port), *SOURCE_ARGS[mode],
        "--network", "shared",  # the apps reach PostgreSQL/MariaDB on this machine's 127.0.0.1
        "--concurrency", "1",  # the app's port is fixed: one instance at a time, as one Lambda instance has one app
        "--", *as_user(spec.command(base), env=spec.env),
    ]
    return argv, env


@contextlib.contextmanager
def run_site(spec: AppSpec, mode: str) -> Iterator[Site]:
    """Cold-start `spec` in `mode` and yield the Site; stop everything afterwards and check nothing is left."""
    assert not user_pids(), f"processes of {APP_USER} still running before {spec.name}: {describe(user_pids())}"
    assert not port_open(spec.port), f"port {spec.port} is taken before {spec.name} starts"
    assert not written_outside_tmp(), f"files of {APP_USER} outside /tmp: {written_outside_tmp()}"
    spec.prepare()
    log = LOG_DIR / f"{spec.name}-{mode}.log"
    if mode == "direct":
        base = f"http://127.0.0.1:{spec.port}"
        argv = as_user(spec.command(base), env=spec.env)
        t0 = time.monotonic()
        proc = Running(argv, log, cwd=spec.cwd)
        target = spec.port
    else:
        gw = free_port()
        base = f"http://127.0.0.1:{gw}"
        argv, env = local_command(spec, mode, gw, base)
        t0 = time.monotonic()
        proc = Running(argv, log, env=env, cwd=spec.cwd)
        target = gw
    try:
        if not wait_until(lambda: port_open(target) or not proc.alive(), spec.start_timeout):
            raise RuntimeError(f"{spec.name}/{mode}: port {target} never opened\n{proc.tail()}")
        # The first request that gets an answer ends the cold start (through reweb local, the emulated instance may
        # start only now, on the first invocation, as Lambda does).
        status = None
        deadline = time.monotonic() + spec.start_timeout
        while status is None and time.monotonic() < deadline and proc.alive():
            status = probe(base, spec.wait_path, spec.ok)
            if status is None:
                time.sleep(0.05)
        if status is None:
            raise RuntimeError(f"{spec.name}/{mode}: {spec.wait_path} never answered {spec.wait_codes}\n{proc.tail()}")
        cold: float | None = (time.monotonic() - t0) * 1000
        if mode != "direct":
            # The emulator's REPORT line of the first invocation says what Lambda would bill as Init Duration. It
            # reaches the log a moment after the answer reaches us: wait for it. (Taking the wall time since
            # `reweb local` was launched instead, as this once did when the line was late, added the emulator's
            # own start, ~0.7 s, to the figure.) Never a number of another kind: None if it does not come.
            cold = None
            if wait_until(lambda: INIT_DURATION.search(proc.tail(200_000)) is not None, 5.0, 0.01):
                found = INIT_DURATION.search(proc.tail(200_000))
                cold = float(found.group(1)) if found else None
        site = Site(spec, mode, base, cold)
        spec.after_start(site.client())
        yield site
    finally:
        proc.stop()
        left = user_pids()
        if left and not wait_until(lambda: not user_pids(), 10):
            pids = user_pids()
            what = describe(pids)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"{spec.name}/{mode}: processes left after stop: {what}\n{proc.tail()}")
        outside = written_outside_tmp()
        if outside:
            raise AssertionError(f"{spec.name}/{mode} wrote outside /tmp (read-only on Lambda): {outside[:20]}")


# ---------------------------------------------------------------------------------------------------------- databases
@contextlib.contextmanager
def postgres_server() -> Iterator[int]:
    """PostgreSQL 15 on 127.0.0.1:54329, data in /tmp/reweb-pg, as `nobody` (it refuses to run as root)."""
    pgbin = next(Path("/usr/lib/postgresql").glob("*/bin"))
    d = fresh_dir("/tmp/reweb-pg", DB_USER)
    _as_db([str(pgbin / "initdb"), "-D", f"{d}/data", "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
            "--locale=C.UTF-8"])
    opts = f"-k {d} -p {PG_PORT} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    _as_db([str(pgbin / "pg_ctl"), "-D", f"{d}/data", "-l", f"{d}/log", "-w", "-o", opts, "start"])
    try:
        yield PG_PORT
    finally:
        _as_db([str(pgbin / "pg_ctl"), "-D", f"{d}/data", "-m", "fast", "-w", "stop"], check=False)


@contextlib.contextmanager
def mariadb_server() -> Iterator[int]:
    """MariaDB on 127.0.0.1:33069, data in /tmp/reweb-mysql, as `nobody`."""
    d = fresh_dir("/tmp/reweb-mysql", DB_USER)
    _as_db(["mariadb-install-db", "--no-defaults", f"--datadir={d}/data", "--auth-root-authentication-method=normal",
            "--skip-test-db"])
    argv = ["mariadbd", "--no-defaults", f"--datadir={d}/data", f"--socket={d}/mysql.sock", f"--port={MARIADB_PORT}",
            "--bind-address=127.0.0.1", f"--pid-file={d}/mariadb.pid", f"--tmpdir={d}", f"--log-error={d}/error.log",
            "--skip-log-bin", "--innodb-buffer-pool-size=64M"]
    with open(d / "stdout.log", "wb") as log:
        proc = subprocess.Popen(as_user(argv, DB_USER), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if subprocess.run(["mariadb-admin", "--no-defaults", "-h127.0.0.1", f"-P{MARIADB_PORT}", "-uroot", "ping"],
                              capture_output=True, timeout=10).returncode == 0:
                break
            if proc.poll() is not None:
                raise RuntimeError((d / "error.log").read_text())
            time.sleep(0.1)
        else:
            raise RuntimeError("mariadb did not start")
        yield MARIADB_PORT
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _as_db(argv: list[str], check: bool = True) -> None:
    p = subprocess.run(as_user(argv, DB_USER), capture_output=True, text=True, timeout=120, cwd="/tmp")
    if check and p.returncode:
        raise RuntimeError(f"{argv[0]} failed: {p.stdout} {p.stderr}")


def psql(sql: str, db: str = "postgres") -> str:
    p = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1",
         "-qAtc", sql],
        capture_output=True, text=True, timeout=60,
    )
    if p.returncode:
        raise RuntimeError(f"psql {sql!r}: {p.stderr}")
    return p.stdout


def mysql(sql: str) -> str:
    p = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{MARIADB_PORT}", "-uroot", "-Nse", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode:
        raise RuntimeError(f"mariadb {sql!r}: {p.stderr}")
    return p.stdout
