"""pyproject.toml lists reweb's packages by hand (deploy/ ships inside as reweb.deploy, which find cannot map):
every package under src/reweb must be in that list, or the wheel silently lacks it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_under_src_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src" / "reweb").rglob("__init__.py")}
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert "reweb.deploy" in listed and config["package-dir"]["reweb.deploy"] == "deploy"
    data = config["package-data"]["reweb.deploy"]
    for path in (ROOT / "deploy").rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".tf", ".py", ".md"):
            rel = path.relative_to(ROOT / "deploy")
            assert any(rel.match(pattern) for pattern in data), f"deploy/{rel} is not shipped"


def test_deploy_folders_that_python_could_import_are_listed() -> None:
    """Else setuptools prints a "Package would be ignored" warning (30 lines) for each at every build: a folder
    of deploy/ with files and an importable name (no hyphen) must be in `packages` (issue 22)."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    for folder in (ROOT / "deploy").rglob("*"):
        if not folder.is_dir() or "__pycache__" in folder.parts:
            continue
        parts = folder.relative_to(ROOT / "deploy").parts
        if all(part.isidentifier() for part in parts) and any(p.is_file() for p in folder.iterdir()):
            assert ".".join(("reweb", "deploy", *parts)) in listed, folder
