"""reweb's container images, built and run for real.

reweb's own image (packaging/docker/Dockerfile: FROM scratch + the static executable at /reweb) and docs/images.md's
three recipes, which add reweb with the one line `COPY --from=reweb /reweb ...`. Each recipe is built as the page
shows it (the ```Dockerfile block after `<!-- reweb-dockerfile: NAME, context DIR/, ... -->`), with the context
folder its marker names, under docs/examples/ (the files a reader copies with it):
  static  FROM scratch, reweb and Debian's static busybox `httpd`: no shell, no libc, no Python;
  php     a PHP page under `php -S` (Debian php-cli) that sets two cookies and reads a POSTed form;
  python  a WSGI app under the standard library's wsgiref (Debian python3): JSON and a binary download.
Each runs as Lambda runs a container (read-only root, a tmpfs /tmp, a non-root user) with the real Lambda Runtime
Interface Emulator copied in at run time and wrapped around the image's own ENTRYPOINT, as AWS base images do;
real HTTP API v2 events (tests/conftest.py FIXTURES) go through the RIE's invoke endpoint on 127.0.0.1.

Everything needed is made here: tests/images/prepare.sh (docker.io, debootstrap, dockerd, the base image
`debian:bookworm-slim` from debootstrap: no registry is reachable), dist/ via scripts/build when it is missing or
older than the sources, then the images (Docker's build cache makes a second run quick). Needs root the first
time; where prepare.sh fails without root, the module is skipped unless REWEB_REQUIRE_APPS is set (as in CI).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reweb.local.ports import free_port
from tests.conftest import FIXTURES, ROOT
from tests.support.rie import rie_binary

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]  # a cold first run installs and debootstraps

HERE = Path(__file__).resolve().parent
DOCKER = "/usr/bin/docker"  # Debian's docker.io client (BuildKit); /usr/local/bin/docker may lack it
EXECUTABLE = ROOT / "dist" / "reweb-linux-x86_64"
REWEB_IMAGE = "reweb:latest"
EXPECTED: dict[str, bytes] = {}
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")
RIE_PORT = 9000  # inside the container; the recipes' apps use 8000 (SAM CLI's emulator takes 8080 there)
LABEL = "org.reweb.test=images"  # on every image built here, so that only those are pruned
UID = "993:993"  # no such user in the images: like Lambda's sandbox user, it owns nothing there
EXAMPLES = ROOT / "docs" / "examples"
#: A Dockerfile block of the docs that the suite builds: the marker names it and its context folder.
DOC_MARKER = re.compile(r"^<!-- reweb-dockerfile: (?P<name>[\w-]+), context (?P<context>[\w./-]+?)/?, [^>]*-->\n"
                        r"```Dockerfile\n(?P<body>.*?)```$", re.S | re.M)


def run(argv: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False, **kwargs)


def docker(*args: str, timeout: float = 60) -> str:
    done = run([DOCKER, *args], timeout)
    assert done.returncode == 0, f"docker {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


def build(tag: str, context: Path, *extra: str) -> None:
    done = run([DOCKER, "build", "--progress=plain", "--label", LABEL, "-t", tag, *extra, str(context)], 1200)
    assert done.returncode == 0, f"docker build {tag} failed:\n{done.stderr[-6000:]}"
    # The image this tag named before (an older reweb, say) is now dangling: drop it, and only such ones.
    run([DOCKER, "image", "prune", "-f", "--filter", f"label={LABEL}"], 120)


def dist_is_stale() -> bool:
    if not EXECUTABLE.exists():
        return True
    built = EXECUTABLE.stat().st_mtime
    sources = [ROOT / "scripts" / "build", *(ROOT / "src" / "reweb").rglob("*.py")]
    return any(path.stat().st_mtime > built for path in sources if path.exists())


@pytest.fixture(scope="module")
def reweb_image() -> str:
    """reweb's image, tagged reweb:latest (the name `COPY --from=reweb` finds), built from dist/."""
    prepared = run(["bash", str(HERE / "prepare.sh")], 1700)
    if prepared.returncode != 0:
        message = f"tests/images/prepare.sh failed:\n{prepared.stdout[-3000:]}{prepared.stderr[-3000:]}"
        if os.geteuid() != 0 and not REQUIRE:
            pytest.skip("no docker here (prepare.sh needs root the first time): " + message[-500:])
        pytest.fail(message)
    if dist_is_stale():
        built = run(["bash", str(ROOT / "scripts" / "build")], 1200, cwd=ROOT)
        assert built.returncode == 0, f"scripts/build failed:\n{built.stdout[-3000:]}{built.stderr[-3000:]}"
    # What the image got: dist/ may be rebuilt later by another test session on this machine.
    EXPECTED["executable"] = EXECUTABLE.read_bytes()
    build(REWEB_IMAGE, ROOT, "-f", str(ROOT / "packaging" / "docker" / "Dockerfile"))
    return REWEB_IMAGE


def doc_dockerfile(page: str, name: str) -> tuple[str, Path]:
    """The block of ROOT/page marked `reweb-dockerfile: NAME`, as written, and its context folder."""
    found = [m for m in DOC_MARKER.finditer((ROOT / page).read_text()) if m["name"] == name]
    assert len(found) == 1, f"{page}: {len(found)} blocks marked reweb-dockerfile: {name} (want exactly one)"
    return found[0]["body"], ROOT / found[0]["context"]


def build_doc_image(page: str, name: str) -> str:
    """Builds the docs' block with its context (after reweb's image, which it copies from): the tag."""
    body, context = doc_dockerfile(page, name)
    dockerfile = ROOT / "build" / "doc-dockerfiles" / f"{page.replace('/', '_')}-{name}.Dockerfile"
    dockerfile.parent.mkdir(parents=True, exist_ok=True)
    dockerfile.write_text(body)
    tag = f"reweb-test/{name}:latest"
    build(tag, context, "-f", str(dockerfile))
    return tag


@pytest.fixture(scope="module")
def app_image(reweb_image: str) -> Iterator[Any]:
    """app_image("php") builds docs/images.md's php recipe once."""
    built: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in built:
            built[name] = build_doc_image("docs/images.md", name)
        return built[name]

    yield get


def image_files(image: str) -> dict[str, tarfile.TarInfo]:
    """Every path in the image's layers (docker save), without the files docker run adds."""
    saved = subprocess.run([DOCKER, "save", image], capture_output=True, timeout=120, check=True).stdout
    files: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        listing = outer.extractfile("manifest.json")
        assert listing is not None, "docker save wrote no manifest.json"
        manifest = json.load(listing)
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                for member in inner.getmembers():
                    files[member.name.removeprefix("./").rstrip("/")] = member
    return files


def file_in_image(image: str, path: str) -> bytes:
    """One file of the image, read from a created (never started) container."""
    container = docker("create", image).strip()
    try:
        archive = subprocess.run([DOCKER, "cp", f"{container}:{path}", "-"], capture_output=True, timeout=60,
                                 check=True).stdout
    finally:
        docker("rm", container)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.next()
        assert member is not None and member.isfile(), member
        content = tar.extractfile(member)
        assert content is not None, member
        return content.read()


class ImageFunction:
    """The image as a Lambda function: the RIE (mounted read-only) runs the image's ENTRYPOINT + CMD."""

    def __init__(self, image: str, env: dict[str, str] | None = None, host_network: bool = False,
                 volumes: dict[str, str] | None = None) -> None:
        config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image))
        command = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
        assert command, f"{image} has no ENTRYPOINT"
        self.name = f"reweb-test-{uuid.uuid4().hex[:12]}"
        # host_network: the app reaches a database on this machine's 127.0.0.1; the RIE then listens there too.
        rie_address = f"127.0.0.1:{free_port()}" if host_network else f"0.0.0.0:{RIE_PORT}"
        network = ["--network", "host"] if host_network else ["-p", f"127.0.0.1::{RIE_PORT}"]
        extra = [f"--env={k}={v}" for k, v in (env or {}).items()]
        extra += [f"--volume={host}:{inside}:ro" for host, inside in (volumes or {}).items()]
        docker("run", "-d", "--name", self.name, *network,
               "--read-only", "--tmpfs", "/tmp", "--user", UID, *extra,
               "-e", "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "-e", "AWS_LAMBDA_FUNCTION_NAME=reweb-image-test",
               "-v", f"{rie_binary()}:/aws-lambda-rie:ro", "--entrypoint", "/aws-lambda-rie",
               image, "--runtime-interface-emulator-address", rie_address, *command)
        try:
            if host_network:
                self.url = "http://" + rie_address
            else:
                published = docker("port", self.name, f"{RIE_PORT}/tcp").split()
                self.url = "http://" + next(p for p in published if p.startswith("127.0.0.1:"))
            self._wait_for_rie()
        except BaseException:
            self.close()
            raise

    def _wait_for_rie(self) -> None:
        # docker-proxy accepts at once; the RIE answers (404) to a GET once it listens inside the container.
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("the RIE did not start in the container:\n" + self.logs()) from None
                time.sleep(0.1)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(self.url + "/2015-03-31/functions/function/invocations",
                                         data=json.dumps(event).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"invoke: HTTP {exc.code} {exc.read()!r}\n{self.logs()}") from None
        assert isinstance(result, dict) and "statusCode" in result, f"{result}\n{self.logs()}"
        return result

    def exec(self, argv: list[str], stdin: bytes = b"") -> bytes:
        """A command inside the running function's container, as its user (it sees the function's /tmp)."""
        done = subprocess.run([DOCKER, "exec", "-i", "--user", UID, self.name, *argv], input=stdin,
                              capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, f"docker exec {argv!r}: {done.returncode} {done.stderr[-3000:]!r}"
        return done.stdout

    def read_file(self, path: str) -> bytes:
        """A file of the function's, e.g. one its app wrote under its /tmp."""
        return self.exec(["cat", "--", path])

    def logs(self) -> str:
        done = run([DOCKER, "logs", self.name], 30)
        return (done.stdout + done.stderr)[-6000:]

    def close(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            run([DOCKER, "rm", "-f", self.name], 60)


@contextlib.contextmanager
def function(image: str) -> Iterator[ImageFunction]:
    fn = ImageFunction(image)
    try:
        yield fn
    finally:
        fn.close()


def event(fixture: str, path: str | None = None, query: str = "", **changes: Any) -> dict[str, Any]:
    """A real HTTP API v2 event from the fixtures, optionally sent to another path and query."""
    data: dict[str, Any] = json.loads((FIXTURES / "apigw-http-v2" / fixture).read_text())
    if path is not None:
        data["rawPath"] = data["requestContext"]["http"]["path"] = path
        data["rawQueryString"] = query
    data.update(changes)
    return data


def body_bytes(result: dict[str, Any]) -> bytes:
    body = result.get("body") or ""
    return base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()


def check(result: dict[str, Any], fn: ImageFunction, status: int) -> dict[str, str]:
    assert result["statusCode"] == status, f"{result}\n{fn.logs()}"
    return {k.lower(): v for k, v in result.get("headers", {}).items()}


# -- reweb's own image --------------------------------------------------------------------------------------

def test_reweb_image_is_the_executable_and_its_sbom(reweb_image: str) -> None:
    files = image_files(reweb_image)
    assert sorted(files) == ["reweb", "reweb.cdx.json"], files  # and its SBOM: tests/release/test_sbom.py
    assert files["reweb"].size == len(EXPECTED["executable"])
    assert files["reweb"].mode & 0o111 == 0o111, oct(files["reweb"].mode)
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", reweb_image))
    assert config["Entrypoint"] == ["/reweb"]
    expected = run([str(EXECUTABLE), "--version"], 30).stdout.strip()
    assert expected.startswith("reweb ")
    assert docker("run", "--rm", reweb_image, "--version", timeout=60).strip() == expected


# -- FROM scratch + reweb + a static server ------------------------------------------------------------------

def test_scratch_image_serves_static_files(app_image: Any) -> None:
    image = app_image("static")
    files = image_files(image)
    assert set(files) == {"reweb", "busybox", "www", "www/index.html"}, sorted(files)  # no sh, no libc, no lib/
    assert file_in_image(image, "/reweb") == EXPECTED["executable"]
    page = (EXAMPLES / "static" / "www" / "index.html").read_bytes()
    with function(image) as fn:
        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json"))
        headers = check(result, fn, 200)
        assert headers["content-type"] == "text/html"
        assert result["isBase64Encoded"] is False
        assert body_bytes(result) == page  # UTF-8 text (λ ✓) travels as text
        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json", "/missing.html"))
        check(result, fn, 404)  # busybox's own 404 page


# -- PHP: two cookies and a POSTed form ----------------------------------------------------------------------

def test_php_image_form_and_cookies(app_image: Any) -> None:
    check_php_form_and_cookies(app_image("php"))


def check_php_form_and_cookies(image: str) -> None:
    """docs/examples/php/site/index.php under the RIE: a form POST with cookies, then a GET (also for README's)."""
    assert file_in_image(image, "/usr/local/bin/reweb") == EXPECTED["executable"]  # the one COPY line
    with function(image) as fn:
        # POST /path, Content-Type: application/x-www-form-urlencoded, base64 body "foo=bar" (a captured
        # event), with the cookies of another captured event (tz=Europe%2FParis, four=two+%2B+2, theme=light).
        cookies = json.loads((FIXTURES / "apigw-http-v2" / "bref-http-v2-cookies.json").read_text())["cookies"]
        result = fn.invoke(event("bref-http-v2-body-base64-form.json", cookies=cookies))
        headers = check(result, fn, 201)
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert headers["x-powered-by"].startswith("PHP/8.2.")
        body = body_bytes(result).decode()
        assert result["isBase64Encoded"] is False
        assert "<p>foo=bar</p>" in body
        assert "<p>theme=light tz=Europe/Paris</p>" in body
        assert "<p>https=https host=example.org</p>" in body
        assert body.endswith(" λ</p>")
        assert "set-cookie" not in headers  # HTTP API v2: every Set-Cookie goes to `cookies`
        assert len(result["cookies"]) == 2, result["cookies"]
        flavour, visits = result["cookies"]
        assert flavour == "flavour=chocolate%20chip; path=/; HttpOnly; SameSite=Lax"
        assert visits.startswith("visits=1; expires=") and visits.endswith("; Max-Age=3600; path=/"), visits
        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json"))
        check(result, fn, 200)
        assert '<form method="post">' in body_bytes(result).decode()
        assert len(result["cookies"]) == 2


# -- Python: JSON and a binary download ----------------------------------------------------------------------

def test_python_image_json_and_binary(app_image: Any) -> None:
    image = app_image("python")
    assert file_in_image(image, "/usr/local/bin/reweb") == EXPECTED["executable"]  # the one COPY line
    blob = bytes((i * 7 + 3) % 256 for i in range(300_000))  # as in docs/examples/python/app.py
    with function(image) as fn:
        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json", "/api/info", "a=1&b=%C3%A9"))
        headers = check(result, fn, 200)
        assert headers["content-type"] == "application/json"
        assert result["isBase64Encoded"] is False
        info = json.loads(result["body"])
        assert info["method"] == "GET" and info["path"] == "/api/info" and info["query"] == "a=1&b=%C3%A9"
        assert info["host"] == "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com"
        assert info["forwarded_proto"] == "https"
        assert info["greeting"] == "grüß dich, λ"
        assert info["python"].startswith("3.11.")

        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json", "/download/blob.bin"))
        headers = check(result, fn, 200)
        assert headers["content-type"] == "application/octet-stream"
        assert headers["content-disposition"] == 'attachment; filename="blob.bin"'
        assert result["isBase64Encoded"] is True
        data = body_bytes(result)
        assert len(data) == len(blob) and data == blob
        assert info["blob_sha256"] == hashlib.sha256(data).hexdigest()

        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json", "/nope"))
        check(result, fn, 404)
        assert body_bytes(result) == b"not found\n"
