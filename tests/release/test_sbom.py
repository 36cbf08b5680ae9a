"""The one-file executable's SBOM (dist/reweb-linux-x86_64.cdx.json, written by scripts/build).

It must be valid CycloneDX (checked with the schemas that cyclonedx-python-lib ships, no network), state exactly
the pins of packaging/pins.sh and the Debian packages and files the linker really opened (versions from dpkg,
hashes recomputed from the files), and be what `reweb --version --verbose` prints from inside the executable.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

EXECUTABLE = ROOT / "dist" / "reweb-linux-x86_64"
SBOM = ROOT / "dist" / "reweb-linux-x86_64.cdx.json"
TRACE = ROOT / "build" / "static" / "obj-x86_64" / "link.trace"
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")

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
