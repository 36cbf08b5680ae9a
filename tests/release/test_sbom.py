"""The one-file executable's SBOM (dist/reweb-linux-x86_64.cdx.json, written by scripts/build).

It must be valid CycloneDX (checked with the schemas that cyclonedx-python-lib ships, no network), state exactly
the pins of packaging/pins.sh and the Debian packages and files the linker really opened (versions from dpkg,
hashes recomputed from the files), and be what `reweb --version --verbose` prints from inside the executable.

reweb's image from dist/ (packaging/docker/Dockerfile, the image users `COPY --from=reweb /reweb ...`) carries it
as /reweb.cdx.json beside /reweb, where image scanners find it by name (Trivy: any *.cdx.json; syft/grype: *.cdx.*
with their sbom-cataloger), and the COPY lines that Dockerfile documents take both into another image.
Images are tagged reweb-release-test/reweb:sbom-* and labelled; only dangling images with that label are pruned.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

EXECUTABLE = ROOT / "dist" / "reweb-linux-x86_64"
SBOM = ROOT / "dist" / "reweb-linux-x86_64.cdx.json"
TRACE = ROOT / "build" / "static" / "obj-x86_64" / "link.trace"
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")
DOCKER = "/usr/bin/docker"  # Debian's docker.io client (BuildKit through DOCKER_BUILDKIT=1)
DOCKERFILE = ROOT / "packaging" / "docker" / "Dockerfile"
IMAGE = "reweb-release-test/reweb:sbom-dist"
USER_IMAGE = "reweb-release-test/reweb:sbom-user"
LABEL = "org.reweb.test=sbom-image"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

VALIDATE = """
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(sys.stdin.read())
print(error if error else "valid")
"""


@pytest.fixture(scope="module")
def sbom() -> dict[str, Any]:
    if not SBOM.exists():
        if not REQUIRE:
            pytest.skip("no dist/reweb-linux-x86_64.cdx.json: run bash scripts/build")
        pytest.fail("scripts/build wrote no dist/reweb-linux-x86_64.cdx.json")
    data: dict[str, Any] = json.loads(SBOM.read_text())
    return data


def validate(venv: Path, text: str) -> str:
    done = subprocess.run([str(venv / "python"), "-c", VALIDATE], input=text, capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.strip()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pins() -> dict[str, str]:
    text = (ROOT / "packaging" / "pins.sh").read_text()
    return dict(re.findall(r"^([A-Z0-9_]+)=(\S+)", text, re.M))


def by_name(sbom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in sbom["components"]}


def test_sbom_is_valid_cyclonedx(sbom: dict[str, Any], release_venv: Path) -> None:
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert validate(release_venv, SBOM.read_text()) == "valid"
    # The validator does reject a broken document (a component without a name).
    broken = json.loads(SBOM.read_text())
    del broken["components"][0]["name"]
    assert validate(release_venv, json.dumps(broken)) != "valid"


def test_sbom_states_the_pinned_sources(sbom: dict[str, Any]) -> None:
    pinned = pins()
    components = by_name(sbom)
    brotli = components["brotli"]
    assert brotli["version"] == pinned["BROTLI_VERSION"]
    assert brotli["hashes"] == [{"alg": "SHA-256", "content": pinned["BROTLI_SHA256"]}]
    assert brotli["purl"] == f"pkg:pypi/brotli@{pinned['BROTLI_VERSION']}"
    pybase64 = components["pybase64"]
    assert pybase64["version"] == pinned["PYBASE64_VERSION"]
    assert pybase64["hashes"] == [{"alg": "SHA-256", "content": pinned["PYBASE64_SHA256"]}]
    assert pybase64["purl"] == f"pkg:pypi/pybase64@{pinned['PYBASE64_VERSION']}"
    for name, pin in (("Modules/_json.c", "JSON_C_SHA256"), ("Modules/_ssl.c", "SSL_C_SHA256")):
        assert components[name]["version"] == pinned["CPYTHON_VERSION"]
        assert components[name]["hashes"] == [{"alg": "SHA-256", "content": pinned[pin]}]
    # The source files the build compiled are the pinned ones.
    static = ROOT / "build" / "static" / "src"
    if static.exists():
        assert sha256(static / "_json.c") == pinned["JSON_C_SHA256"]
        assert sha256(static / "ssl" / "Python-3.11.2" / "Modules" / "_ssl.c") == pinned["SSL_C_SHA256"]


def test_sbom_lists_what_the_linker_opened(sbom: dict[str, Any]) -> None:
    """Every Debian package: the version dpkg has, each linked file's hash as on disk; every traced archive."""
    debs = [c for c in sbom["components"] if c["purl"].startswith("pkg:deb/debian/")]
    names = {c["name"] for c in debs}
    assert {"libpython3.11-dev", "libssl-dev", "zlib1g-dev", "libexpat1-dev", "libc6-dev",
            "libpython3.11-minimal", "libpython3.11-stdlib"} <= names, names
    listed: set[str] = set()
    for component in debs:
        arch = component["purl"].split("arch=")[1].split("&")[0]
        package = component["name"] + ("" if arch == "all" else f":{arch}")
        version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True,
                                 text=True, check=True).stdout
        assert component["version"] == version, (package, component["version"], version)
        for file in component.get("components", []):
            assert file["hashes"] == [{"alg": "SHA-256", "content": sha256(Path(file["name"]))}], file["name"]
            listed.add(file["name"])
    for name in ("libpython3.11.a", "libssl.a", "libcrypto.a", "libz.a", "libexpat.a", "libc.a"):
        assert any(path.endswith("/" + name) for path in listed), name
    if TRACE.exists():  # the build's own trace: nothing it opened from a package is missing
        traced = {os.path.normpath(line.strip()) for line in TRACE.read_text().splitlines()
                  if line.strip().startswith("/usr/")}
        assert traced <= listed, sorted(traced - listed)
    openssl = next(c for c in debs if c["name"] == "libssl-dev")
    assert "upstream=openssl" in openssl["purl"] and "distro=debian-12" in openssl["purl"]


def test_executable_prints_its_sbom(sbom: dict[str, Any]) -> None:
    done = subprocess.run([str(EXECUTABLE), "--version", "--verbose"], capture_output=True, text=True, timeout=60,
                          env={}, check=True)
    first, _, rest = done.stdout.partition("\n")
    assert first == f"reweb {sbom['metadata']['component']['version']}"
    assert rest == SBOM.read_text()
    plain = subprocess.run([str(EXECUTABLE), "--version"], capture_output=True, text=True, timeout=60, env={},
                           check=True)
    assert plain.stdout == first + "\n"


# -- the SBOM in reweb's image (packaging/docker/Dockerfile) ------------------------------------------------

def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([DOCKER, *args], capture_output=True, timeout=timeout, check=False,
                          env={**os.environ, "DOCKER_BUILDKIT": "1"})


def docker_build(tag: str, context: Path, dockerfile: Path) -> None:
    done = docker("build", "--progress=plain", "--label", LABEL, "-t", tag, "-f", str(dockerfile), str(context),
                  timeout=900)
    assert done.returncode == 0, f"docker build {tag} failed:\n{done.stderr.decode()[-6000:]}"
    docker("image", "prune", "-f", "--filter", f"label={LABEL}")  # the image this tag named before, only


def image_files(tag: str) -> dict[str, bytes]:
    """Every regular file of the image's layers (the last layer's copy wins), by path."""
    saved = docker("save", tag)
    assert saved.returncode == 0, saved.stderr.decode()
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(saved.stdout)) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer)) as inner:
                for member in inner.getmembers():
                    if member.isfile():
                        files[member.name.removeprefix("./")] = inner.extractfile(member).read()  # type: ignore[union-attr]
    return files


@pytest.fixture(scope="module")
def dist_image() -> dict[str, bytes]:
    """reweb's image built from dist/ as packaging/docker/Dockerfile says (context: the repository root), and
    what it was built from: dist/'s executable and SBOM as they were just before the build."""
    if not EXECUTABLE.exists() or not SBOM.exists():
        if not REQUIRE:
            pytest.skip("no dist/reweb-linux-x86_64 and its .cdx.json: run bash scripts/build")
        pytest.fail("scripts/build wrote no dist/reweb-linux-x86_64 or no .cdx.json")
    prepared = subprocess.run(["bash", str(ROOT / "tests" / "images" / "prepare.sh")], capture_output=True,
                              text=True, timeout=1700, check=False)
    if prepared.returncode != 0:
        if os.geteuid() != 0 and not REQUIRE:
            pytest.skip("no docker here (prepare.sh needs root the first time)")
        pytest.fail(f"prepare.sh failed:\n{prepared.stderr[-3000:]}")
    built_from = {"executable": EXECUTABLE.read_bytes(), "sbom": SBOM.read_bytes()}
    docker_build(IMAGE, ROOT, DOCKERFILE)
    return built_from


def test_image_carries_the_executables_sbom(dist_image: dict[str, bytes], release_venv: Path) -> None:
    files = image_files(IMAGE)
    assert sorted(files) == ["reweb", "reweb.cdx.json"], sorted(files)
    executable, text = files["reweb"], files["reweb.cdx.json"]
    # The pair dist/ held: the executable byte for byte, and its SBOM as scripts/build wrote it.
    assert hashlib.sha256(executable).hexdigest() == hashlib.sha256(dist_image["executable"]).hexdigest()
    assert text == dist_image["sbom"]
    # Valid CycloneDX 1.5 JSON, for the image's platform.
    assert validate(release_venv, text.decode()) == "valid"
    sbom = json.loads(text)
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    assert {p["name"]: p["value"] for p in sbom["metadata"]["properties"]}["reweb:platform"] == "linux/amd64"
    assert docker("image", "inspect", "--format", "{{.Architecture}}", IMAGE).stdout.decode().strip() == "amd64"
    # It names the executable the image holds: that executable's version, and the executable embeds this very
    # document (so the document cannot state the file's own hash; a hash, if ever stated, must be the file's).
    component = sbom["metadata"]["component"]
    assert component["name"] == "reweb" and component["version"] == VERSION
    assert component["purl"] == f"pkg:pypi/reweb-lambda@{VERSION}"
    for stated in component.get("hashes", []):
        assert stated == {"alg": "SHA-256", "content": hashlib.sha256(executable).hexdigest()}
    printed = docker("run", "--rm", IMAGE, "--version", "--verbose")
    assert printed.returncode == 0, printed.stderr.decode()
    assert printed.stdout == f"reweb {VERSION}\n".encode() + text


def test_copy_lines_take_reweb_and_its_sbom_into_another_image(dist_image: dict[str, bytes]) -> None:
    """The `COPY --from=reweb` lines packaging/docker/Dockerfile documents, built into a FROM scratch image (with
    --from naming the image built here instead of reweb:latest, which is tests/images's to tag)."""
    documented = re.findall(r"^#\s+(COPY --from=reweb \S+ \S+)", DOCKERFILE.read_text(), re.M)
    assert len(documented) == 2, documented
    targets = {line.split()[-1]: line.split()[-2] for line in documented}
    assert targets == {"/usr/local/bin/reweb": "/reweb", "/usr/share/sbom/reweb.cdx.json": "/reweb.cdx.json"}
    # Named *.cdx.json: the suffix Trivy looks for, matched by syft's **/*.cdx.* as well.
    assert all(target.endswith(".cdx.json") for target, source in targets.items() if source.endswith(".json"))
    with tempfile.TemporaryDirectory(prefix="reweb-sbom-") as context:
        dockerfile = Path(context) / "Dockerfile"
        dockerfile.write_text("FROM scratch\n" + "".join(line.replace("--from=reweb ", f"--from={IMAGE} ") + "\n"
                                                          for line in documented))
        docker_build(USER_IMAGE, Path(context), dockerfile)
    files = image_files(USER_IMAGE)
    assert sorted(files) == ["usr/local/bin/reweb", "usr/share/sbom/reweb.cdx.json"], sorted(files)
    assert files["usr/local/bin/reweb"] == dist_image["executable"]
    assert files["usr/share/sbom/reweb.cdx.json"] == dist_image["sbom"]
