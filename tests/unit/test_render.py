"""`reweb init`'s Dockerfile (scaffold/render.py), rendered from a Plan without Docker: what adds reweb to the
image. The build itself is tests/deploy/test_init.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

from reweb.scaffold.plan import Plan, make_plan, parser
from reweb.scaffold.render import dockerfile

APP = ["python3", "-m", "http.server", "8000"]
COPY = "COPY --from=reweb /reweb /usr/local/bin/reweb"
SBOM = "COPY --from=reweb /reweb.cdx.json /usr/share/sbom/reweb.cdx.json"


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def plan(*args: str) -> Plan:
    return make_plan(parser().parse_args(list(args)), APP)


def test_the_copy_install_takes_reweb_and_its_sbom(here: Path) -> None:
    """The SBOM goes where scanners look for one (Trivy, syft's sbom cataloger: any *.cdx.json): without it,
    reweb is one opaque static file in the image."""
    lines = dockerfile(plan()).splitlines()
    assert lines.count(COPY) == 1 and lines.count(SBOM) == 1
    assert lines.index(SBOM) == lines.index(COPY) + 1  # both from the image the build took reweb from
    comment: list[str] = []  # the comment lines right above them, which say why
    for line in reversed(lines[:lines.index(COPY)]):
        if not line.startswith("#"):
            break
        comment.insert(0, line)
    assert "SBOM" in " ".join(comment) and "*.cdx.json" in " ".join(comment)


def test_install_pip_copies_nothing_from_reweb_s_image(here: Path) -> None:
    wheel = here / "reweb_lambda-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    text = dockerfile(plan("--install", "pip", "--wheel", str(wheel), "--base", "python:3.12-slim"), wheel.name)
    assert "--from=reweb" not in text and "cdx.json" not in text
    assert f"RUN pip install --no-cache-dir /tmp/{wheel.name}" in text
