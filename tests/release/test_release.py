"""The release pipeline, before anyone pushes a tag.

.github/workflows/release.yml must be valid against GitHub's workflow schema (check-jsonschema's built-in copy)
and have no high-severity finding from zizmor (--offline); each of its shell steps is a `scripts/release`
command, and `scripts/release --dry-run` runs all of them here with every upload skipped: the wheel and sdist
(twine check), the executables, SBOMs and layers for x86_64 and arm64 from the root Dockerfile (BuildKit), the
image for both platforms (tagged locally as reweb-release-test/reweb:VERSION-ARCH), the layer and PyPI uploads.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(3000)]

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
DOCKER = "/usr/bin/docker"  # Debian's docker.io client (BuildKit through DOCKER_BUILDKIT=1)
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
OUT = ROOT / "build" / "release-test"


def zizmor_high(venv: Path, workflow: Path) -> list[str]:
    done = subprocess.run([str(venv / "zizmor"), "--offline", "--format", "json", str(workflow)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.strip().startswith("["), done.stderr[-2000:]
    findings = json.loads(done.stdout)
    return [f"{f['ident']}: {f['desc']}" for f in findings if f["determinations"]["severity"] == "High"]


def test_workflow_is_valid_and_has_no_high_finding(release_venv: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(release_venv / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(WORKFLOW)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert zizmor_high(release_venv, WORKFLOW) == []
    # Both checks do fail a bad workflow: a job key the schema lacks; an unpinned action and a tag name
    # expanded into a shell line.
    text = WORKFLOW.read_text()
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace("    runs-on: ubuntu-24.04\n", "    runs_on: ubuntu-24.04\n", 1))
    done = subprocess.run([str(release_venv / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           str(bad)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0
    unsafe = re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", text)
    unsafe = unsafe.replace('run: python3 scripts/release check-tag "$TAG"',
                            "run: python3 scripts/release check-tag ${{ github.event.head_commit.message }}")
    bad.write_text(unsafe)
    found = zizmor_high(release_venv, bad)
    assert any(f.startswith("unpinned-uses") for f in found), found
    assert any(f.startswith("template-injection") for f in found), found


def run_lines(text: str) -> list[str]:
    """The shell lines of every `run:` (one-line or `|` block) of a workflow."""
    lines = text.splitlines()
    commands = []
    for i, line in enumerate(lines):
        m = re.fullmatch(r"(\s*)(?:- )?run: (.*)", line)
        if not m:
            continue
        if m.group(2) != "|":
            commands.append(m.group(2))
            continue
        indent = len(m.group(1)) + (2 if line.lstrip().startswith("- ") else 0)  # the key's column
        for block in lines[i + 1:]:
            if block.strip() and len(block) - len(block.lstrip()) <= indent:
                break
            if block.strip():
                commands.append(block.strip())
    return commands


def test_workflow_steps_are_the_dry_run_steps() -> None:
    """Every shell line of the workflow is a scripts/release step (or installs build/twine), every action is
    pinned by commit, and only the two publishing jobs may mint an OIDC token."""
    text = WORKFLOW.read_text()
    commands = run_lines(text)
    assert commands, "no run: steps found"
    for command in commands:
        assert command.startswith(("python3 scripts/release ", "python3 -m pip install --quiet build twine")), command
    steps = set(re.findall(r"python3 scripts/release ([a-z-]+)", text))
    assert steps == {"check-tag", "python", "executables", "image", "layers"}, steps
    for uses in re.findall(r"uses: (\S+)", text):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), uses
    jobs = re.split(r"^  (?=[a-z]+:\n)", text.split("\njobs:\n", 1)[1], flags=re.M)
    minting = {job.split(":")[0] for job in jobs if "id-token: write" in job}
    assert minting == {"pypi", "layers"}, minting
    assert "permissions: {}" in text  # nothing at the workflow level


@pytest.fixture(scope="module")
def dry_run() -> subprocess.CompletedProcess[str]:
    prepared = subprocess.run(["bash", str(ROOT / "tests" / "images" / "prepare.sh")], capture_output=True,
                              text=True, timeout=1700, check=False)
    if prepared.returncode != 0:
        if os.geteuid() != 0 and not REQUIRE:
            pytest.skip("no docker here (prepare.sh needs root the first time)")
        pytest.fail(prepared.stderr[-3000:])
    env = {**os.environ, "DOCKER": DOCKER}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "release"), "--dry-run", "--out", str(OUT)],
                          capture_output=True, text=True, timeout=2700, check=False, env=env, cwd=ROOT)
    assert done.returncode == 0, f"scripts/release --dry-run failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return done


def test_dry_run_builds_everything_and_uploads_nothing(dry_run: subprocess.CompletedProcess[str],
                                                       release_venv: Path) -> None:
    out = dry_run.stdout
    assert "release: dry run done" in out
    # Python distributions, checked by twine.
    python = sorted(p.name for p in (OUT / "python").iterdir())
    assert python == [f"reweb_lambda-{VERSION}-py3-none-any.whl", f"reweb_lambda-{VERSION}.tar.gz"], python
    assert "twine check --strict" in out
    # Both executables: static ELF files of their architecture, each with its SBOM and layer.
    files = OUT / "files"
    for arch, machine in (("x86_64", 0x3E), ("arm64", 0xB7)):
        head = (files / f"reweb-linux-{arch}").read_bytes()[:20]
        assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == machine, arch
        sbom = json.loads((files / f"reweb-linux-{arch}.cdx.json").read_text())
        platform = {p["name"]: p["value"] for p in sbom["metadata"]["properties"]}["reweb:platform"]
        assert platform == ("linux/amd64" if arch == "x86_64" else "linux/arm64")
        validated = subprocess.run(
            [str(release_venv / "python"), "-c",
             "import sys; from cyclonedx.schema import SchemaVersion; "
             "from cyclonedx.validation.json import JsonStrictValidator; "
             "print(JsonStrictValidator(SchemaVersion.V1_5).validate_str(sys.stdin.read()) or 'valid')"],
            input=(files / f"reweb-linux-{arch}.cdx.json").read_text(), capture_output=True, text=True,
            timeout=120, check=True)
        assert validated.stdout.strip() == "valid", validated.stdout
        with zipfile.ZipFile(files / f"reweb-layer-{arch}.zip") as layer:
            assert sorted(layer.namelist()) == ["bootstrap", "reweb"]
            assert layer.read("reweb") == (files / f"reweb-linux-{arch}").read_bytes()
    # The image of each platform, kept locally: its /reweb is the released executable, its /reweb.cdx.json the SBOM.
    for arch, docker_arch in (("x86_64", "amd64"), ("arm64", "arm64")):
        tag = f"reweb-release-test/reweb:{VERSION}-{arch}"
        inspected = subprocess.run([DOCKER, "image", "inspect", "--format", "{{.Architecture}}", tag],
                                   capture_output=True, text=True, timeout=60, check=True)
        assert inspected.stdout.strip() == docker_arch
        container = subprocess.run([DOCKER, "create", tag], capture_output=True, text=True, timeout=60,
                                   check=True).stdout.strip()
        try:
            for inside, released in (("/reweb", f"reweb-linux-{arch}"),
                                     ("/reweb.cdx.json", f"reweb-linux-{arch}.cdx.json")):
                copied = subprocess.run([DOCKER, "cp", f"{container}:{inside}", "-"], capture_output=True,
                                        timeout=60, check=True).stdout
                with tarfile.open(fileobj=io.BytesIO(copied)) as tar:
                    member = tar.next()
                    assert member is not None and member.isfile(), (tag, inside)
                    assert tar.extractfile(member).read() == (files / released).read_bytes(), (tag, inside)  # type: ignore[union-attr]
        finally:
            subprocess.run([DOCKER, "rm", container], capture_output=True, timeout=60, check=False)
    printed = subprocess.run([DOCKER, "run", "--rm", f"reweb-release-test/reweb:{VERSION}-x86_64", "--version",
                              "--verbose"], capture_output=True, text=True, timeout=120, check=True).stdout
    assert printed == f"reweb {VERSION}\n" + (files / "reweb-linux-x86_64.cdx.json").read_text()
    # Every upload skipped: the image push, each layer in each region, PyPI.
    skipped = [line for line in out.splitlines() if line.startswith("release: SKIPPED (dry run): ")]
    regions = [line.split("#")[0].strip() for line in (ROOT / "packaging" / "layer" / "regions.txt").read_text()
               .splitlines() if line.split("#")[0].strip()]
    assert regions, "no region in packaging/layer/regions.txt"
    assert sum("buildx build " in s and "--platform linux/amd64,linux/arm64 " in s and "--push" in s
               for s in skipped) == 1
    for arch in ("x86_64", "arm64"):
        for region in regions:
            assert sum(f"publish-layer-version --region {region} --layer-name reweb-{arch} " in s
                       for s in skipped) == 1, (arch, region)
    assert sum("pypa/gh-action-pypi-publish" in s for s in skipped) == 1
    assert not [line for line in out.splitlines() if line.startswith("release: $ aws ")]
