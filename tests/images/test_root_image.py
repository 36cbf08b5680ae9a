"""reweb's image built from source by the Dockerfile at the repository root: `docker build -t reweb .`.

The executable is made inside the build (a Debian stage runs scripts/build), so the image needs nothing but
Docker. Built here with Debian 12's own docker.io, once with its classic builder and once with BuildKit, and
from a git URL with a tag (`git://127.0.0.1:PORT/reweb.git#TAG`, a bare clone served by `git daemon` on
loopback; the build takes the committed tree). Each image must hold exactly /reweb and its SBOM
/reweb.cdx.json, run `reweb --version --verbose` printing that same SBOM, and say linux/amd64. arm64 (BuildKit,
--platform) is built by the release dry run (tests/release/test_release.py).

Images are tagged reweb-release-test/reweb:* and labelled; only dangling images with that label are pruned.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import tarfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3000)]

DOCKER = "/usr/bin/docker"  # Debian's docker.io client: classic builder by default, BuildKit with the env
PREFIX = "reweb-release-test/reweb"
LABEL = "org.reweb.test=root-image"
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SBOMS: dict[str, dict[str, Any]] = {}


def docker(*args: str, timeout: float = 120, buildkit: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.fixture(scope="module")
def prepared() -> None:
    done = subprocess.run(["bash", str(Path(__file__).with_name("prepare.sh"))], capture_output=True, text=True,
                          timeout=1700, check=False)
    if done.returncode != 0:
        if os.geteuid() != 0 and not REQUIRE:
            pytest.skip("no docker here (prepare.sh needs root the first time)")
        pytest.fail(f"prepare.sh failed:\n{done.stderr[-3000:]}")


def build(tag: str, context: str, buildkit: bool) -> None:
    extra = ["--progress=plain"] if buildkit else ["--force-rm"]
    started = time.monotonic()
    done = docker("build", *extra, "--label", LABEL, "-t", tag, context, timeout=2700, buildkit=buildkit)
    assert done.returncode == 0, f"docker build {tag} failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    print(f"docker build {tag} ({'BuildKit' if buildkit else 'classic'}): {time.monotonic() - started:.0f} s")
    docker("image", "prune", "-f", "--filter", f"label={LABEL}")  # the image this tag named before, only


def image_files(tag: str) -> set[str]:
    saved = subprocess.run([DOCKER, "save", tag], capture_output=True, timeout=120, check=True).stdout
    files = set()
    with tarfile.open(fileobj=io.BytesIO(saved)) as outer:
        listing = outer.extractfile("manifest.json")
        assert listing is not None, "docker save wrote no manifest.json"
        manifest = json.load(listing)
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                files |= {m.name.removeprefix("./").rstrip("/") for m in inner.getmembers()}
    return files


def file_in_image(tag: str, path: str) -> bytes:
    container = docker("create", tag).stdout.strip()
    assert container, f"docker create {tag} failed"
    try:
        archive = subprocess.run([DOCKER, "cp", f"{container}:{path}", "-"], capture_output=True, timeout=60,
                                 check=True).stdout
    finally:
        docker("rm", container)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.next()
        assert member is not None and member.isfile()
        content = tar.extractfile(member)
        assert content is not None, member
        return content.read()


def check_image(tag: str) -> dict[str, Any]:
    """The image is /reweb and /reweb.cdx.json alone; the executable prints that SBOM; linux/amd64."""
    assert image_files(tag) == {"reweb", "reweb.cdx.json"}
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", tag).stdout)
    assert config["Entrypoint"] == ["/reweb"]
    assert docker("image", "inspect", "--format", "{{.Architecture}}", tag).stdout.strip() == "amd64"
    sbom_text = file_in_image(tag, "/reweb.cdx.json").decode()
    printed = docker("run", "--rm", tag, "--version", "--verbose")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == f"reweb {VERSION}\n{sbom_text}"
    sbom: dict[str, Any] = json.loads(sbom_text)
    assert {p["name"]: p["value"] for p in sbom["metadata"]["properties"]}["reweb:platform"] == "linux/amd64"
    names = {c["name"] for c in sbom["components"]}
    assert {"brotli", "libssl-dev", "libpython3.11-dev", "zlib1g-dev", "libexpat1-dev", "libc6-dev"} <= names
    # In the Debian stage apt's lists are there: each package's .deb hash is stated.
    assert all(c.get("hashes") for c in sbom["components"]), [c["name"] for c in sbom["components"]
                                                              if not c.get("hashes")]
    return sbom


def test_classic_builder_builds_reweb_from_source(prepared: None) -> None:
    build(f"{PREFIX}:classic", str(ROOT), buildkit=False)
    SBOMS["classic"] = check_image(f"{PREFIX}:classic")


def test_buildkit_builds_reweb_from_source(prepared: None) -> None:
    build(f"{PREFIX}:buildkit", str(ROOT), buildkit=True)
    SBOMS["buildkit"] = check_image(f"{PREFIX}:buildkit")
    if "classic" in SBOMS:  # the same components from both builders (versions follow Debian's updates)
        assert {c["name"] for c in SBOMS["classic"]["components"]} == \
            {c["name"] for c in SBOMS["buildkit"]["components"]}


@contextlib.contextmanager
def git_daemon(base: Path) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}",
                             "--listen=127.0.0.1", f"--port={port}", str(base)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "git daemon did not listen within 20 s"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("buildkit", [True, False], ids=["buildkit", "classic"])
def test_build_from_a_git_url_and_tag(prepared: None, tmp_path: Path, buildkit: bool) -> None:
    """`docker build -t reweb git://...#TAG`: the daemon clones the tag itself (loopback: it runs here)."""
    bare = tmp_path / "reweb.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", "--no-local", str(ROOT), str(bare)], check=True,
                   timeout=300)
    subprocess.run(["git", "--git-dir", str(bare), "tag", "reweb-build-test", "HEAD"], check=True, timeout=60)
    tag = f"{PREFIX}:git-{'buildkit' if buildkit else 'classic'}"
    with git_daemon(tmp_path) as port:
        build(tag, f"git://127.0.0.1:{port}/reweb.git#reweb-build-test", buildkit=buildkit)
    check_image(tag)
