"""The SnapStart hooks' paths stay closed to clients however they are spelled, checked against the servers that
map the spellings onto the hooks: a real nginx (dot segments, %2e, %2F, encoded letters, doubled slashes) and a
real Tomcat 10.1 (`;parameters`, `..;`, dot segments, encoded letters), each serving the hooks at their exact
paths and recording every hit, behind reweb under the real RIE, through every event kind.

The servers are started here, on free ports, with their own configuration under a temporary folder
(tests/integration/hookguard/), not through the tests/apps harness. Missing nginx or Tomcat skips, except under
REWEB_REQUIRE_APPS=1 (CI), where it fails."""

from __future__ import annotations

import base64
import json
import os
import random
import shlex
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reweb.hookpath import HookPaths, readings
from tests.conftest import FIXTURES
from tests.support.rie import RieFunction, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
HERE = Path(__file__).resolve().parent / "hookguard"
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CATALINA_HOME = Path(os.environ.get("CATALINA_HOME", "/usr/share/tomcat10"))
TOMCAT_CONF = Path("/etc/tomcat10")  # Debian's global web.xml and catalina.properties
BEFORE, AFTER = "/snapstart/before", "/snapstart/after"
HOOKS = {"AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH": BEFORE, "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH": AFTER}
REFUSED = b"reserved for SnapStart hooks"


def missing(what: str) -> None:
    message = f"{what} is not installed (tests/apps/install.sh installs it)"
    if REQUIRE:
        pytest.fail(message + "; REWEB_REQUIRE_APPS is set")
    pytest.skip(message)


# -- the servers ----------------------------------------------------------------------------------------------------

class Server:
    """One real server as the app of reweb under the real RIE (reweb starts it: it refuses a port already taken,
    and stops it with the RIE); `hits()` is what its hooks recorded."""

    def __init__(self, name: str, folder: Path, port: int, command: str, **extra: str) -> None:
        self.name, self.folder, self.port = name, folder, port
        self.hooks_log = folder / "hooks.log"
        self.syncs = 0
        self.function = RieFunction({"REWEB_APPLICATION_EXEC": command, "REWEB_APPLICATION_PORT": str(port),
                                     "REWEB_READINESS_CHECK_TIMEOUT_SECONDS": "170", **HOOKS, **extra},
                                    timeout_s=180)
        try:
            # The RIE starts reweb (and reweb the server) at the first invocation; Tomcat compiles its JSP then.
            result = self.function.invoke(KINDS["http-api"]("GET", "/warm-up"), timeout=200)
            assert result.get("statusCode") == 200, (result, self.function.logs()[-3000:])
        except BaseException:
            self.function.close()
            raise

    def direct(self, method: str, target: str) -> tuple[int, bytes]:
        """One request straight to the server (not through reweb), the target byte for byte."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=20) as sock:
            sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: hookguard\r\nConnection: close\r\n"
                         "Content-Length: 0\r\n\r\n".encode("latin-1"))
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body

    def hits(self) -> list[str]:
        """Every hook hit so far. nginx writes its log line just after the answer: a page request made after
        the last one and seen in its access log means every earlier line is written (one process, in order)."""
        if self.name == "nginx":
            self.syncs += 1
            marker = f"/__sync/{self.syncs}"
            assert self.direct("GET", marker)[0] == 200
            deadline = time.monotonic() + 10
            while marker not in (self.folder / "access.log").read_text() and time.monotonic() < deadline:
                time.sleep(0.01)
        return self.hooks_log.read_text().splitlines() if self.hooks_log.exists() else []

    def close(self) -> None:
        self.function.close()


def _script(folder: Path, env: dict[str, str], argv: list[str]) -> str:
    """The app's command: a script that sets the server's environment and execs it."""
    script = folder / "run.sh"
    script.write_text("#!/bin/sh\n" + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
                      + "exec " + " ".join(map(shlex.quote, argv)) + "\n")
    script.chmod(0o755)
    return str(script)


def nginx_server(folder: Path, **extra: str) -> Server:
    if not Path(NGINX).exists():
        missing("nginx")
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text((HERE / "nginx.conf").read_text().replace("@PREFIX@", str(folder)).replace("@PORT@", str(port)))
    command = _script(folder, {}, [NGINX, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")])
    return Server("nginx", folder, port, command, **extra)


def tomcat_server(folder: Path) -> Server:
    if not (CATALINA_HOME / "bin" / "catalina.sh").exists() or not (TOMCAT_CONF / "web.xml").exists():
        missing("Tomcat 10 (Debian tomcat10)")
    port = free_port()
    base = folder / "base"
    shutil.copytree(HERE / "tomcat", base)
    for name in ("conf", "logs", "temp"):
        (base / name).mkdir()
    (base / "conf" / "server.xml").write_text(
        (base / "server.xml").read_text().replace("@PORT@", str(port)).replace("@WORK@", str(folder)))
    for name in ("web.xml", "catalina.properties"):
        shutil.copy(TOMCAT_CONF / name, base / "conf" / name)
    env = {"CATALINA_HOME": str(CATALINA_HOME), "CATALINA_BASE": str(base), "CATALINA_TMPDIR": str(base / "temp"),
           "HOOKGUARD_LOG": str(folder / "hooks.log"),
           "JAVA_OPTS": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -Djava.awt.headless=true"}
    return Server("tomcat", folder, port, _script(folder, env, [str(CATALINA_HOME / "bin" / "catalina.sh"), "run"]))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    found: dict[str, Server] = {}
    try:
        found["nginx"] = nginx_server(tmp_path_factory.mktemp("nginx"))
        found["tomcat"] = tomcat_server(tmp_path_factory.mktemp("tomcat"))
        yield found
    finally:
        for server in found.values():
            server.close()


# -- events of every kind -------------------------------------------------------------------------------------------

def _load(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / relative).read_text())
    return event


def _v2(relative: str) -> Callable[[str, str], dict[str, Any]]:
    def make(method: str, path: str) -> dict[str, Any]:
        event = _load(relative)
        event.update(rawPath=path, rawQueryString="", body="", isBase64Encoded=False)
        event["requestContext"]["http"].update(method=method, path=path)
        return event
    return make


def _v1(relative: str) -> Callable[[str, str], dict[str, Any]]:
    def make(method: str, path: str) -> dict[str, Any]:
        event = _load(relative)
        event.update(path=path, httpMethod=method, body=None, isBase64Encoded=False)
        for key in ("queryStringParameters", "multiValueQueryStringParameters"):
            if key in event:
                event[key] = None if "elb" not in event["requestContext"] else {}
        return event
    return make


def _lattice_v1(method: str, path: str) -> dict[str, Any]:
    event = _load("lattice-v1/powertools-lattice-v1.json")
    event.update(raw_path=path, method=method, query_string_parameters={}, body="", is_base64_encoded=False)
    return event


def _lattice_v2(method: str, path: str) -> dict[str, Any]:
    event = _load("lattice-v2/powertools-lattice-v2-string-headers.json")
    event.update(path=path, method=method, queryStringParameters={}, body="", isBase64Encoded=False)
    return event


KINDS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "http-api": _v2("apigw-http-v2/rust-http-v2-minimal-curl.json"),
    "function-url": _v2("function-url/golang-function-url-get-root.json"),
    "rest": _v1("apigw-rest/voker-rest-encoded-path-query-repeated-headers.json"),
    "alb": _v1("alb-single/golang-alb-headers-only.json"),
    "alb-multi": _v1("alb-multi/voker-alb-multi-encoded-path-query.json"),
    "lattice-v1": _lattice_v1,
    "lattice-v2": _lattice_v2,
}


def call(server: Server, kind: str, path: str, method: str = "POST") -> tuple[int, bytes]:
    result = server.function.invoke(KINDS[kind](method, path))
    assert isinstance(result, dict) and "statusCode" in result, (kind, path, result)
    body = result.get("body") or ""
    return int(result["statusCode"]), base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()


def assert_refused(found: dict[str, Server], path: str) -> None:
    """403 from reweb on both servers, for every event kind and both methods, and no hook hit."""
    for name, server in found.items():
        before = len(server.hits())
        for kind in KINDS:
            for method in ("POST", "GET"):
                status, body = call(server, kind, path, method)
                assert not body.startswith(b"HOOK"), (name, kind, method, path, status, body)
                assert status == 403 and REFUSED in body, (name, kind, method, path, status, body)
        assert server.hits()[before:] == [], (name, path)


# -- the threat is real: the servers themselves map these spellings onto the hooks ------------------------------------

MAPPED = {
    "nginx": ["/snapstart/before", "/x/../snapstart/before", "/snapstart/./before", "/x/%2e%2e/snapstart/before",
              "/snapstart/.%2e/snapstart/before", "/snapstart%2Fbefore", "/snapstart/befor%65", "//snapstart//after",
              "/snapstart/..%2Fsnapstart/after"],
    "tomcat": ["/snapstart/before", "/x/../snapstart/before", "/snapstart/./before", "/x/%2e%2e/snapstart/before",
               "/snapstart/before;x=1", "/snapstart;a=b/before", "/snapstart/before;jsessionid=0123ABCD",
               "/snapstart/x/..;/before", "/snapstart/befor%65", "//snapstart//after", "/snapstart/after/.",
               "/snapstart/.%2e/snapstart/after;a"],
}
# Issue 18 point 1: a segment that reduces to nothing for the old guard but that the server keeps, so that `..`
# removes it rather than the segment before it (found by the reviewer and by the differential fuzz below).
MAPPED["nginx"] += ["/snapstart/.../../before", "/snapstart/%3B/%2e%2e/before", "/snapstart/%2e%2e%2e/%2e%2e/before",
                    "/snapstart/%3Bx/%2e%2e/after", "/snapstart/;/../before", "/%2F/snapstart/..%3B/%2e%2e/before"]
MAPPED["tomcat"] += ["/snapstart/.../../before", "/snapstart/%3B/%2e%2e/before", "/snapstart/%2e%2e%2e/%2e%2e/before",
                     "/snapstart/%3Bx/%2e%2e/after", "/snapstart/./%2e;%3f/after"]


@pytest.mark.parametrize("name", ["nginx", "tomcat"])
def test_the_servers_map_these_spellings_onto_the_hooks(servers: dict[str, Server], name: str) -> None:
    """Straight to the server, without reweb: every spelling reaches a hook (else the tests below prove nothing)."""
    server = servers[name]
    for path in MAPPED[name]:
        before = len(server.hits())
        status, body = server.direct("POST", path)
        assert status == 200 and body.startswith(b"HOOK"), (path, status, body)
        assert len(server.hits()) == before + 1, path


# -- through reweb: refused, every kind, both servers ------------------------------------------------------------------

SPELLINGS = sorted({*MAPPED["nginx"], *MAPPED["tomcat"]} | {
    "/SNAPSTART/before", "/snapstart/Before", "/snapstart/before/", "/snapstart/before//", "/snapstart/before.",
    "/snapstart/before%2e", "/snapstart/before%3Bx", "/snapstart/before%3Fx=1", "/snapstart/before%23top",
    "/snapstart%5Cbefore", "/snapstart\\before", "/x/..%5Csnapstart/before", "/snapstart/%252e/before",
    "/x/%252e%252e/snapstart/before", "/snapstart/before%2500", "/snapstart/%c0%ae/before",
    "/x/%c0%ae%c0%ae/snapstart/before", "/snapstart%c0%afbefore", "/snapstart%ef%bc%8fbefore",
    "/snapstart/before%00.jpg", "/snapstart/before%20", "/snapstart/before/x", "/snapstart/before.json",
    "/snapstart/%u0062efore", "/x/..;/snapstart/before", "/snapstart/x%2F..%2Fbefore", "/%2e/snapstart/before",
    "/snapstart/be%09fore", "//evil.example/snapstart/before",
    "/snapstart//../before",  # WHATWG URL parsers (Node, Deno, Bun) keep the empty segment: /snapstart/before
})


@pytest.mark.parametrize("path", SPELLINGS)
def test_spellings_of_the_hooks_are_refused(servers: dict[str, Server], path: str) -> None:
    assert_refused(servers, path)


ORDINARY = ["/", "/page", "/snapstart", "/snapstart/", "/snapstart/beforehand", "/snapstart/befor",
            "/before", "/after/snapstart/before-x", "/blog/2024/before-and-after.html", "/static/app.js",
            "/a/./b/../c", "/capture/space%20value", "/x%2Fy", "/files;v=2/list", "/%E2%9C%93"]


@pytest.mark.parametrize("path", ORDINARY)
def test_ordinary_pages_reach_the_app(servers: dict[str, Server], path: str) -> None:
    for name, server in servers.items():
        before = len(server.hits())
        for kind in KINDS:
            status, body = call(server, kind, path, "GET")
            if name == "tomcat" and "%2F" in path:
                assert status == 400, (kind, path, status, body)  # Tomcat's own answer to an encoded slash
            else:
                assert status == 200 and body.startswith(b"page "), (name, kind, path, status, body)
        assert server.hits()[before:] == [], (name, path)


# The price of the safety net (reweb.hookpath.in_doubt): pages the servers serve as pages, refused because they name
# a hook's last segment and hold something servers read differently. Listed in tests/unit/test_hookpath.py too.
PRICE = ["/blog/before-and-after.html;jsessionid=0A1B", "/before;jsessionid=1", "/posts//before", "/a/./before",
         "/x/../after", "/docs/after%3Fx"]


def test_the_safety_net_refuses_some_ordinary_pages(servers: dict[str, Server]) -> None:
    for name, server in servers.items():
        for path in PRICE:
            status, body = server.direct("GET", path)
            assert status == 200 and body.startswith(b"page "), (name, path, status, body)
            status, body = call(server, "http-api", path, "GET")
            assert status == 403 and REFUSED in body, (name, path, status, body)


# -- the path the app receives: after the base path and the stage are removed ----------------------------------------

@pytest.fixture(scope="module")
def with_base_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = nginx_server(tmp_path_factory.mktemp("nginx-api"), REWEB_REMOVE_BASE_PATH="/api")
    yield server
    server.close()


@pytest.mark.parametrize("path", ["/api/snapstart/before", "/api//snapstart/before", "/api/x/../snapstart/before",
                                  "/api/../snapstart/before", "/api/%2e/snapstart/after", "/api/snapstart%2Fafter"])
def test_the_guard_sees_the_path_after_the_base_path_is_removed(with_base_path: Server, path: str) -> None:
    server = with_base_path
    before = len(server.hits())
    for kind in KINDS:
        status, body = call(server, kind, path)
        assert status == 403 and REFUSED in body, (kind, path, status, body)
    assert server.hits()[before:] == [], path


def test_the_guard_sees_the_path_after_the_stage_is_removed(servers: dict[str, Server]) -> None:
    for name, server in servers.items():
        before = len(server.hits())
        for path in ("/prod/snapstart/before", "/prod/x/../snapstart/before", "/prod/snapstart;a/before"):
            event = KINDS["http-api"]("POST", path)
            event["requestContext"]["stage"] = "prod"
            del event["requestContext"]["domainName"]
            result = server.function.invoke(event)
            assert result["statusCode"] == 403 and REFUSED.decode() in result["body"], (name, path, result)
        assert server.hits()[before:] == [], name
    # and an ordinary page under the stage still reaches the app
    event = KINDS["http-api"]("GET", "/prod/page")
    event["requestContext"]["stage"] = "prod"
    del event["requestContext"]["domainName"]
    assert servers["nginx"].function.invoke(event)["body"] == "page /page\n"


# -- generated spellings --------------------------------------------------------------------------------------------

def _char(c: str) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({c, c.upper(), f"%{ord(c):02X}", f"%{ord(c):02x}"}))


_DOTS = st.sampled_from([".", "%2e", "%2E", "x/..", "x/%2e%2e", "x/.%2E", "x/..;p", "x;y/..", "x/%2E.",
                         # segments that reduce to nothing for one reading but that a server keeps, then `..`
                         ";x/..", ";/..", ".../..", "/..", " /..", "%20/..", "%3B/%2e%2e", "%3Bx/..", "%3F/..",
                         "%2e%2e%2e/%2e%2e", "..;/..", "%2e;%3f/.."])
_PARAM = st.sampled_from([";", ";x", ";a=b", ";jsessionid=0A1B2C", ";v=1;w=2"])
_SEP = st.sampled_from(["/", "/", "/", "//", "///", "%2F", "%2f", "\\", "%5C"])
_END = st.sampled_from(["", "", "/", "//", "/.", "/%2e", ";x", "."])


@st.composite
def hook_spellings(draw: st.DrawFn) -> str:
    segments = draw(st.sampled_from([BEFORE, AFTER])).strip("/").split("/")
    out = ""
    for segment in segments:
        pieces = [*draw(st.lists(_DOTS, max_size=2)), "".join(draw(_char(c)) for c in segment)]
        if draw(st.booleans()):
            pieces[-1] += draw(_PARAM)
        for piece in pieces:
            out += draw(_SEP) + piece
    return out + draw(_END)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=hook_spellings(), kind=st.sampled_from(sorted(KINDS)))
def test_generated_spellings_never_reach_the_hooks(servers: dict[str, Server], path: str,
                                                   kind: str) -> None:
    for name, server in servers.items():
        before = len(server.hits())
        status, body = call(server, kind, path)
        assert not body.startswith(b"HOOK"), (name, kind, path, status, body)
        assert status == 403 and REFUSED in body, (name, kind, path, status, body)
        assert server.hits()[before:] == [], (name, path)


# -- differential fuzz: straight to each server (no RIE, so fast), any path it maps onto a hook must be refused --------

HOOK_PATHS = HookPaths([BEFORE, AFTER])
TOKENS = ["/", "/", "//", "%2f", "%2F", ".", "..", "%2e", "%2e%2e", ".%2e", "...", "%2e%2e%2e", ";", ";x", "%3b",
          "%3B", "x", "%20", "%09", "%00", "\\", "%5c", "%25", "%252e", "snapstart", "before", "after", "%3f", "%23",
          "%c0%ae", "S", "%73", "B", "~", "+", "@", "%ef%bc%8f"]


UP = ["..", "%2e%2e", ".%2e", "%2E.", "..;", "..%3B", "..;x", "%2e%2e;"]  # `..`, however spelled


def _fuzz_path(pick: Callable[[list[str]], str], count: Callable[[int, int], int]) -> str:
    """Each hook segment, with up to three segments of 1 to 3 tokens before it, each maybe followed by a `..`
    (the bypasses of issue 18: a segment one reading drops, then `..`), and maybe a token after."""
    out = ""
    for segment in pick([BEFORE, AFTER]).strip("/").split("/"):
        for _ in range(count(0, 3)):
            out += "/" + "".join(pick(TOKENS) for _ in range(count(1, 3)))
            if count(0, 1):
                out += "/" + pick(UP)
        out += "/" + segment
        if count(0, 2) == 0:
            out += pick(TOKENS)
    return out


def _mapped_onto_a_hook(server: Server, path: str) -> bool:
    try:
        status, body = server.direct("POST", path)
    except (OSError, ValueError, IndexError):  # a request line the server closes on without an answer
        return False
    return status == 200 and body.startswith(b"HOOK")


def test_fuzzed_paths_the_servers_map_onto_a_hook_are_refused(servers: dict[str, Server]) -> None:
    """1500 paths from a fixed seed, straight to nginx and to Tomcat: whatever reaches a hook there is refused by
    the guard, and by its readings alone (the safety net is not what makes them pass)."""
    rng = random.Random(18)
    paths = [_fuzz_path(rng.choice, rng.randint) for _ in range(1500)]
    for name, server in servers.items():
        mapped = [path for path in paths if _mapped_onto_a_hook(server, path)]
        assert len(mapped) > 50, (name, len(mapped))  # the fuzz reaches the hooks, else it proves nothing
        assert [path for path in mapped if not HOOK_PATHS.refuses(path)] == [], name
        assert [path for path in mapped if not HOOK_PATHS.reads_as_hook(path)] == [], name


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_generated_paths_the_servers_map_onto_a_hook_are_refused(servers: dict[str, Server],
                                                                 data: st.DataObject) -> None:
    path = _fuzz_path(lambda options: data.draw(st.sampled_from(options)),
                      lambda low, high: data.draw(st.integers(low, high)))
    for name, server in servers.items():
        if _mapped_onto_a_hook(server, path):
            assert HOOK_PATHS.refuses(path) and HOOK_PATHS.reads_as_hook(path), (name, path, readings(path))


_WORD = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,11}", fullmatch=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_WORD, min_size=1, max_size=4), suffix=st.sampled_from(["", "/", ".html", ".js"]),
       kind=st.sampled_from(sorted(KINDS)))
def test_generated_ordinary_pages_reach_the_app(servers: dict[str, Server], words: list[str],
                                                suffix: str, kind: str) -> None:
    path = "/" + "/".join(words) + suffix
    if path.lower().startswith((BEFORE, AFTER)):
        return  # a hook's own path or below it, not an ordinary page
    for name, server in servers.items():
        status, body = call(server, kind, path, "GET")
        assert status == 200 and body.strip() == f"page {path}".encode(), (name, kind, path, status, body)
