"""Every guide's Dockerfile (docs/apps/*.md), built as written and served under the real Lambda RIE with that app's
own checks from tests/apps.

The Dockerfile is taken from the guide's markdown: the ```Dockerfile block right after the marker comment
`<!-- reweb-guide-dockerfile ... -->`, built with docs/apps/<app>/ as the context (the files it copies sit there),
after reweb's image (`reweb:latest`, as tests/images/test_images.py builds it). The image then runs as Lambda runs
it (read-only root, tmpfs /tmp, a non-root user, the RIE wrapped around its ENTRYPOINT: test_images.ImageFunction).
In front of the RIE's invoke endpoint sits an HTTP API front door made of `reweb local`'s own event and answer
translation (reweb.local.gateways, pure code), so that the app's test functions from tests/apps/test_app_<app>.py run
unchanged against it, as they run in their `http-api` mode. Apps that need a database get the suite's own MariaDB or
PostgreSQL on 127.0.0.1 (appkit's servers) and run with `--network host`; everything listens on 127.0.0.1 only.

Builds share Docker's layer cache (prepare.sh's daemon keeps its data root between runs): the guides that start
with the same `FROM debian:bookworm-slim` + `apt-get install` line share that layer.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib
import json
import re
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reweb.local.ports import free_port
from tests.conftest import ROOT
from tests.images import test_images
from tests.images.test_images import LABEL, REQUIRE, ImageFunction, run

sys.path.insert(0, str(ROOT / "tests" / "apps"))
import appkit  # tests/apps is not a package: its modules import `appkit` from there

reweb_image = test_images.reweb_image  # the fixture: reweb:latest, which `COPY --from=reweb` finds

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

DOCS = ROOT / "docs" / "apps"
MARKER = re.compile(r"<!-- reweb-guide-dockerfile\b[^>]*-->\n```Dockerfile\n(.*?)```\n", re.S)
DOCKER = "/usr/bin/docker"


@dataclass(frozen=True)
class Guide:
    """One guide: its markdown name, its test module in tests/apps, what the image needs to run in the test."""

    doc: str  # docs/apps/<doc>.md, context docs/apps/<doc>/
    module: str  # tests/apps/<module>.py (its SPEC and test functions)
    env: dict[str, str] = field(default_factory=dict)  # the function's environment in the test ({base}: its URL)
    build_args: dict[str, str] = field(default_factory=dict)
    database: str | None = None  # "mariadb" or "postgres": the suite's server, reached with --network host
    #: Host paths mounted read-only in the container (the suite's generated test files, not in git).
    volumes: dict[str, str] = field(default_factory=dict)
    #: Files the app's tests read (Site.read_file), where the guide puts them when it differs from tests/apps.
    paths: dict[str, str] = field(default_factory=dict)
    #: Content the suite's installer (tests/apps/install.d) adds to the host's app and the guide's image starts
    #: without, added through the app's own HTTP interface once the image's app is up (after spec.after_start).
    seed: Callable[[appkit.Client], None] | None = None


#: In order of popularity (the order they were converted in).
GUIDES = [
    Guide("wordpress", "test_app_wordpress", database="mariadb",
          env={"WORDPRESS_DB_HOST": f"127.0.0.1:{appkit.MARIADB_PORT}", "WORDPRESS_DB_PASSWORD": "wp",
               "WORDPRESS_KEYS": "test-only-keys-" + "x" * 40}),
    Guide("django", "test_app_django", database="postgres",
          env={"PGHOST": "127.0.0.1", "PGPORT": str(appkit.PG_PORT), "PGUSER": "postgres", "HOME": "/tmp/django"}),
    Guide("fastapi", "test_app_fastapi", env={"LIBRARY_SECRET": "test-secret-same-on-every-instance"},
          volumes={str(appkit.KIT / "testdata"): "/var/task/media"}),
    Guide("tomcat", "test_app_tomcat", volumes={str(appkit.KIT / "tomcat" / "daten"): "/var/task/tomcat/daten"}),
    Guide("nextjs", "test_app_nextjs",
          volumes={str(appkit.KIT / "testdata" / "random.bin"): "/var/task/public/archive.bin",
                   str(appkit.KIT / "testdata" / "test.png"): "/var/task/public/cover.png"}),
    Guide("node-red", "test_app_node_red"),
    Guide("json-server", "test_app_json_server"),
    Guide("syncthing", "test_app_syncthing"),
    Guide("hledger-web", "test_app_hledger", env={"HLEDGER_BASE_URL": "{base}"},
          paths={"/tmp/hledger/main.journal": "/tmp/main.journal"}),
    Guide("dokuwiki", "test_app_dokuwiki", build_args={"DOKUWIKI_ADMIN_PASSWORD": appkit.PASSWORD}),
    Guide("phpmyadmin", "test_app_phpmyadmin", database="mariadb",
          env={"PMA_DB_HOST": "127.0.0.1", "PMA_DB_PORT": str(appkit.MARIADB_PORT),
               "PMA_BLOWFISH_SECRET": "test-only-32-bytes-blowfish-key!"}),
    Guide("mediawiki", "test_app_mediawiki", build_args={"MW_ADMIN_PASSWORD": "s3cret-Pass-123"},
          env={"MW_SERVER": "{base}"},
          seed=lambda c: importlib.import_module("test_app_mediawiki").seed_pages(c)),
    Guide("adminer", "test_app_adminer", database="postgres"),
    Guide("caddy", "test_app_caddy", volumes={str(appkit.KIT / "caddy" / "site"): "/srv/site"}),
    Guide("prometheus", "test_app_prometheus"),
    Guide("datasette", "test_app_datasette", volumes={str(appkit.KIT / "datasette" / "demo.db"): "/var/task/demo.db"}),
    Guide("redmine", "test_app_redmine", build_args={"REDMINE_ADMIN_PASSWORD": "s3cret-Pass"}),
]
BY_DOC = {g.doc: g for g in GUIDES}

#: Guides whose Dockerfile the suite does not build yet, with the reason. Every other guide must be in GUIDES.
NOT_YET: dict[str, str] = {}


def guide_dockerfile(doc: str) -> str:
    """The Dockerfile the guide shows after its marker comment (the block the reader copies)."""
    text = (DOCS / f"{doc}.md").read_text()
    found = MARKER.findall(text)
    assert len(found) == 1, f"docs/apps/{doc}.md: {len(found)} marked Dockerfile blocks (want exactly one)"
    return str(found[0])


def build_guide(guide: Guide) -> str:
    tag = f"reweb-guide/{guide.doc}:latest"
    dockerfile = ROOT / "build" / "guides" / f"{guide.doc}.Dockerfile"
    dockerfile.parent.mkdir(parents=True, exist_ok=True)
    dockerfile.write_text(guide_dockerfile(guide.doc))
    args = [f"--build-arg={k}={v}" for k, v in guide.build_args.items()]
    began = time.monotonic()
    context = DOCS / guide.doc if (DOCS / guide.doc).is_dir() else dockerfile.parent / f"{guide.doc}-empty"
    context.mkdir(exist_ok=True)  # a Dockerfile that copies nothing gets an empty context
    done = run([DOCKER, "build", "--progress=plain", "--label", LABEL, "-t", tag, *args, "-f", str(dockerfile),
                str(context)], 3000)
    assert done.returncode == 0, f"docker build of docs/apps/{guide.doc}.md failed:\n{done.stderr[-6000:]}"
    print(f"built {tag} in {time.monotonic() - began:.1f} s")
    run([DOCKER, "image", "prune", "-f", "--filter", f"label={LABEL}"], 120)
    return tag


# -- an HTTP API front door before the RIE ----------------------------------------------------------------------

class RieFrontDoor:
    """HTTP on 127.0.0.1 -> an API Gateway HTTP API event (reweb local's translation) -> the RIE -> HTTP answer.

    The RIE runs one invocation at a time, as one Lambda instance does: requests are serialised here.
    """

    def __init__(self, fn: ImageFunction, port: int = 0, source: str = "http-api") -> None:
        from reweb.local.gateways import Context, Failure, Inbound, MalformedResult, gateway_for

        gateway = gateway_for(source)
        lock = threading.Lock()
        invoke_url = fn.url + "/2015-03-31/functions/function/invocations"

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                self.close_connection = True
                super().handle_one_request()

            def do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                port = door_port
                ctx = Context(request_id=str(uuid.uuid4()), time_epoch_ms=int(time.time() * 1000),
                              trace_id=f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
                              host=self.headers.get("Host") or f"127.0.0.1:{port}", port=port)
                inbound = Inbound(method=self.command, raw_path=path or "/", raw_query=query,
                                  headers=list(self.headers.items()), body=body)
                event = json.dumps(gateway.build_event(inbound, ctx)).encode()
                with lock:
                    request = urllib.request.Request(invoke_url, data=event, method="POST")
                    try:
                        with urllib.request.urlopen(request, timeout=120) as response:
                            payload = response.read()
                        result = json.loads(payload)
                        if isinstance(result, dict) and "errorType" in result and "statusCode" not in result:
                            out = gateway.failure(Failure.FUNCTION_ERROR, ctx)
                        else:
                            out = gateway.translate_result(payload)
                    except (OSError, ValueError, MalformedResult):
                        out = gateway.failure(Failure.FUNCTION_ERROR, ctx)
                self.send_response_only(out.status, out.reason)
                announced = str(len(out.body))
                for name, value in out.headers:
                    if name.lower() == "content-length" and self.command == "HEAD" and not out.body:
                        announced = value  # a HEAD answer announces the size of the GET body (as reweb local does)
                    elif name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        # On the wire as UTF-8, as reweb local's aiohttp writes them (http.server: latin-1 only).
                        self.send_header(name, value.encode("utf-8").decode("latin-1"))
                self.send_header("Content-Length", announced)
                self.send_header("Connection", "close")
                with contextlib.suppress(ConnectionError):  # a client that stopped reading (a test's timeout)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(out.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        door_port = self.server.server_port
        self.url = f"http://127.0.0.1:{door_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the app's own tests, collected here ----------------------------------------------------------------------

def _app_module(guide: Guide) -> Any:
    return importlib.import_module(guide.module)


def _collect() -> None:
    """test_<doc>__<name> here for every test_<name> of each guide's app module (same function, this `site`)."""
    for guide in GUIDES:
        module = _app_module(guide)
        for name, fn in vars(module).items():
            if name.startswith("test_") and callable(fn):
                globals()[f"test_{guide.doc.replace('-', '_')}__{name[5:]}"] = fn


_collect()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "site" in metafunc.fixturenames:
        module = metafunc.function.__module__
        guide = next(g for g in GUIDES if g.module == module)
        metafunc.parametrize("site", [guide.doc], indirect=True, scope="module")


@contextlib.contextmanager
def _database(kind: str | None) -> Iterator[None]:
    """The suite's database server: the one tests/apps already runs in this session, or one of our own."""
    if kind is None:
        yield
        return
    port = appkit.MARIADB_PORT if kind == "mariadb" else appkit.PG_PORT
    if appkit.port_open(port):
        yield
        return
    server = appkit.mariadb_server if kind == "mariadb" else appkit.postgres_server
    with server():
        yield


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, reweb_image: str) -> Iterator[appkit.Site]:
    guide = BY_DOC[request.param]
    if not (appkit.KIT / ".installed").exists() and not REQUIRE:
        pytest.skip("the apps' test data is not installed (tests/apps/install.sh)")
    image = build_guide(guide)
    config = json.loads(run([DOCKER, "image", "inspect", "--format", "{{json .Config}}", image], 60).stdout)
    assert config["Entrypoint"] == ["reweb"], f"docs/apps/{guide.doc}.md: ENTRYPOINT {config['Entrypoint']}"
    spec: appkit.AppSpec = _app_module(guide).SPEC
    with _database(guide.database):
        spec.prepare()  # a fresh database, as before every cold start of the suite
        host_network = guide.database is not None
        if host_network:
            assert not appkit.port_open(spec.port), f"port {spec.port} is taken before {guide.doc}'s image starts"
        port = free_port()  # the front door's, known before the start: "{base}" in env is its URL
        env = {k: v.replace("{base}", f"http://127.0.0.1:{port}") for k, v in guide.env.items()}
        fn = ImageFunction(image, env=env, host_network=host_network, volumes=guide.volumes)
        door = None
        try:
            door = RieFrontDoor(fn, port)
            site = appkit.Site(spec, "http-api", door.url, None,
                              read_file=lambda path: fn.read_file(guide.paths.get(path, path)))
            spec.after_start(site.client())
            if guide.seed is not None:
                guide.seed(site.client())
            yield site
        finally:
            if door is not None:
                door.close()
            fn.close()


# -- every guide is here -----------------------------------------------------------------------------------------

def test_every_guide_dockerfile_is_built() -> None:
    with_dockerfile = sorted(p.stem for p in DOCS.glob("*.md") if "```Dockerfile" in p.read_text())
    built = sorted(BY_DOC)
    assert sorted(set(with_dockerfile) - set(built) - set(NOT_YET)) == [], "guides with a Dockerfile nobody builds"
    for doc in built:
        guide_dockerfile(doc)  # exactly one marked block
        copies = any(line.startswith(("COPY ", "ADD ")) and "--from=" not in line and "://" not in line
                     for line in guide_dockerfile(doc).splitlines())
        assert (DOCS / doc).is_dir() or not copies, f"docs/apps/{doc}/: the files its Dockerfile copies"
        # reweb's SBOM beside it, where scanners find it (docs/shipping-notes.md#sbom); the build proves the source.
        assert "COPY --from=reweb /reweb.cdx.json /usr/share/sbom/reweb.cdx.json\n" in guide_dockerfile(doc), doc


def test_marker_extracts_the_block(tmp_path: Path) -> None:
    text = "x\n<!-- reweb-guide-dockerfile: built -->\n```Dockerfile\nFROM a\nRUN b\n```\n```Dockerfile\nFROM c\n```\n"
    assert MARKER.findall(text) == ["FROM a\nRUN b\n"]

