"""AWS SAM CLI's `sam local start-api`, a second front door this project did not write, before a real app's image.

The app is the FastAPI guide's image (docs/apps/fastapi.md, built by test_guides.build_guide) plus the suite's
generated media files (tests/apps/kit/testdata: a PNG and 1 MB of random bytes, not in git). SAM runs it from the
project's own templates (deploy/sam/http-api.yaml and rest-api.yaml, `PackageType: Image`, the local tag as
`ImageUri`, `--skip-pull-image`) on this machine's dockerd: SAM builds its derived image (which needs /bin/sh: a
FROM scratch image cannot run under SAM) and runs its own emulator inside the container, listening on 8080 there.

SAM CLI is installed on first use into build/sam-venv (pinned, as deploy/validate.py keeps its tools). Everything
listens on 127.0.0.1; AWS credentials are dummies (nothing leaves this machine).
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reweb.local.ports import free_port
from tests.conftest import ROOT
from tests.images import test_images
from tests.images.test_guides import BY_DOC, build_guide
from tests.images.test_images import DOCKER, LABEL, REQUIRE, run

sys.path.insert(0, str(ROOT / "tests" / "apps"))
import appkit  # tests/apps is not a package: its modules import `appkit` from there

reweb_image = test_images.reweb_image  # the fixture: reweb:latest, which `COPY --from=reweb` finds

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

SAM_VERSION = "1.170.0"
VENV = ROOT / "build" / "sam-venv"
SAM = VENV / "bin" / "sam"
IMAGE = "reweb-sam/fastapi:latest"
TEMPLATES = {"http-api": ROOT / "deploy" / "sam" / "http-api.yaml", "rest": ROOT / "deploy" / "sam" / "rest-api.yaml"}


@pytest.fixture(scope="module")
def sam() -> Path:
    marker = VENV / f"reweb-installed-{SAM_VERSION}.txt"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
        done = subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", f"aws-sam-cli=={SAM_VERSION}"],
                              capture_output=True, text=True, timeout=1200, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        marker.write_text(SAM_VERSION + "\n")
    return SAM


@pytest.fixture(scope="module")
def image(reweb_image: str) -> str:
    """The FastAPI guide's image with the media files the suite generates (the guide ships its own there)."""
    if not (appkit.KIT / ".installed").exists() and not REQUIRE:
        pytest.skip("the apps' test data is not installed (tests/apps/install.sh)")
    base = build_guide(BY_DOC["fastapi"])
    dockerfile = f"FROM {base}\nCOPY test.png random.bin /var/task/media/\n"
    done = subprocess.run([DOCKER, "build", "-q", "--label", LABEL, "-t", IMAGE, "-f", "-",
                           str(appkit.KIT / "testdata")], input=dockerfile, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "DOCKER_BUILDKIT": "1"}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return IMAGE


class SamApi:
    """`sam local start-api` on 127.0.0.1 with one of the project's templates."""

    def __init__(self, sam: Path, template: Path, image: str, overrides: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.image = image
        self.url = f"http://127.0.0.1:{self.port}"
        params = " ".join(f"{k}={v}" for k, v in {"ImageUri": image, **overrides}.items())
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "local-only", "AWS_SECRET_ACCESS_KEY": "local-only",
               "DOCKER_HOST": "unix:///var/run/docker.sock"}
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 (closed in close)
        self.proc = subprocess.Popen(
            [str(sam), "local", "start-api", "--template", str(template), "--skip-pull-image",
             "--host", "127.0.0.1", "--port", str(self.port), "--container-host", "127.0.0.1",
             "--container-host-interface", "127.0.0.1", "--parameter-overrides", params],
            stdout=self._fh, stderr=subprocess.STDOUT, env=env, cwd=template.parent, start_new_session=True)
        deadline = time.monotonic() + 120
        while not appkit.port_open(self.port):
            assert self.proc.poll() is None, f"sam local start-api exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"sam local start-api did not listen:\n{self.output()}"
            time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_bytes()[-8000:].decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float) -> bool:
        """Whether `text` shows in SAM's output within `timeout` s (it copies a container's output from a thread)."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        return True

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)
        self._fh.close()
        # Containers SAM started from our image and left behind (a killed SAM does not clean up).
        left = run([DOCKER, "ps", "-aq", "--filter", f"ancestor={self.image.split(':')[0]}:rapid-x86_64"], 30).stdout
        for cid in left.split():
            run([DOCKER, "rm", "-f", cid], 60)
        # A derived image SAM failed to build (no /bin/sh: the FROM scratch test) leaves the classic builder's
        # container of that step, "Created", labelled as our image is: one more per run unless removed.
        run([DOCKER, "container", "prune", "-f", "--filter", f"label={LABEL}"], 60)


@contextlib.contextmanager
def sam_api(sam: Path, kind: str, image: str, tmp_path: Path, **overrides: str) -> Iterator[SamApi]:
    api = SamApi(sam, TEMPLATES[kind], image, {"AppPort": "8021", "WaitPath": "/books", **overrides},
                 tmp_path / f"sam-{kind}.log")
    try:
        yield api
    finally:
        api.close()


def _grouped(pairs: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


@pytest.mark.parametrize("kind", ["http-api", "rest"])
def test_fastapi_under_sam_local(sam: Path, image: str, kind: str, tmp_path: Path) -> None:
    with sam_api(sam, kind, image, tmp_path) as api:
        # REST's implicit API serves the stage name in the path on AWS; SAM local serves it at the root.
        c = appkit.Client(api.url, timeout=120)
        page = c.get("/books?q=" + urllib.parse.quote("Толстой"))
        assert page.status == 200, (page, api.output())
        assert "Война и мир" in page.text() and "2 Bücher" in page.text(), page.text()[:500]

        # Query: repeated keys, an encoded plus, an empty value.
        echo = c.get("/api/echo?a=1&a=2&b=x%2By+z&empty=&a=3")
        assert echo.status == 200, (echo, api.output())
        doc = echo.json()
        assert isinstance(doc, dict)
        assert _grouped(doc["query"]) == {"a": ["1", "2", "3"], "b": ["x+y z"], "empty": [""]}, doc

        # Cookies: the login answers 303 with three Set-Cookie; the session then opens /files.
        r = c.post_form("/login?next=/books", [("username", "admin"), ("password", appkit.PASSWORD)])
        assert r.status == 303 and r.header("location") == "/books", (r, api.output())
        assert sorted(line.split("=", 1)[0] for line in r.set_cookies) == ["csrftoken", "last_user", "session"], r
        files = c.get("/files")
        assert files.status == 200, (files, api.output())
        assert appkit.Client(api.url, timeout=120).get("/files").status == 303  # no cookie, no entry

        # A binary GET: the PNG byte for byte, asked for as a browser asks for an image. Through the REST API, SAM
        # decodes the base64 body only when the request's Accept matches the template's BinaryMediaTypes ("*/*").
        png = (appkit.KIT / "testdata" / "test.png").read_bytes()
        got = c.get("/media/cover.png", [("Accept", "image/avif,image/webp,*/*")])
        assert got.status == 200 and got.header("content-type") == "image/png", (got, api.output())
        assert got.body == png
        if kind == "rest":  # SAM's deviation, as docs/deploy.md says: no Accept header, the base64 text (cut
            # at the image's own Content-Length, which SAM passes on unchanged)
            bare = c.get("/media/cover.png")
            assert bare.status == 200 and bare.body != png, bare
            assert base64.b64encode(png).startswith(bare.body), bare.body[:40]


def test_app_port_8080_under_sam_local_says_what_to_do(sam: Path, image: str, tmp_path: Path) -> None:
    """SAM's emulator holds 8080 in the container: with the app port left there, init fails and says so."""
    with sam_api(sam, "http-api", image, tmp_path, AppPort="8080") as api:
        client = appkit.Client(api.url, timeout=120)
        # SAM copies a container's output from a thread and removes the failed container after the answer; on a
        # busy machine it once removed it before copying anything (no line of it in SAM's output). Each request
        # is a new container: up to three, and reweb's message must come through one of them.
        for _ in range(3):
            r = client.get("/books")
            assert r.status == 500, (r, api.output())  # SAM's answer to a failed init, as an HTTP API's
            if api.wait_for("the emulator listens on 8080", 15):
                break
        out = api.output()
        assert "port 8080 is already in use" in out, out
        assert "set REWEB_APPLICATION_PORT (and the app's own port) to another one" in out, out


def test_from_scratch_image_cannot_run_under_sam_local(sam: Path, reweb_image: str, tmp_path: Path) -> None:
    """The shell-less recipe (docs/images.md's FROM scratch, as written): SAM's derived image needs /bin/sh.

    It runs on Lambda and under the RIE (test_images.py); SAM answers 502 and says why. docs/deploy.md names the
    workaround (the same files on a base with a shell)."""
    image = test_images.build_doc_image("docs/images.md", "static")
    with sam_api(sam, "http-api", image, tmp_path, AppPort="8000", WaitPath="/") as api:
        r = appkit.Client(api.url, timeout=120).get("/")
        assert r.status == 502, (r, api.output())
        assert api.wait_for('exec: "/bin/sh": stat /bin/sh: no such file', 30), api.output()
    left = run([DOCKER, "ps", "-aq", "--filter", f"label={LABEL}"], 30).stdout.split()
    assert left == [], f"containers of the failed derived build left behind: {left}"
