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
