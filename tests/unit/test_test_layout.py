"""The tests' own layout (issue 23, point 6): helpers are shared through tests/support (or an area's own support
module such as tests/apps/appkit.py and specs.py), never by importing another test module, and the path to the
captured events is built in one place, tests/support/paths.py. An AST scan of tests/ and bench/."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT

SCANNED = ("tests", "bench")
SKIPPED = ("bench/.cache/",)  # built and downloaded trees, not our code
THE_ONE_PLACE = "tests/support/paths.py"
THIS_FILE = "tests/unit/test_test_layout.py"  # its planted offences are strings, and it names "fixtures" itself
# tests/images is being moved to tests/support by another change; until then its test modules import one another,
# and tests/deploy imports its image helpers and the reweb_image fixture.
KNOWN_IMPORTER_DIR, KNOWN_IMPORTED = "tests/images/", "tests.images.test_"
KNOWN_TEST_IMPORTS = {
    ("tests/deploy/test_init.py", "tests.images.test_images"),
    ("tests/deploy/test_init_readme.py", "tests.images.test_images"),
}


def sources(root: Path) -> Iterator[tuple[str, ast.Module]]:
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if not rel.startswith(SKIPPED):
                yield rel, ast.parse(path.read_text(encoding="utf-8"), rel)


def imported_modules(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            yield base
            if not node.module:  # `from . import test_x`
                yield from (base + alias.name for alias in node.names)


def is_test_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("test_")


def imports_of_test_modules(root: Path) -> list[str]:
    """`file: module` for each import of a test module that is not a known exception."""
    return [f"{rel}: {name}" for rel, tree in sources(root) for name in imported_modules(tree)
            if is_test_module(name) and not known(rel, name)]


def known(rel: str, name: str) -> bool:
    return (rel, name) in KNOWN_TEST_IMPORTS or (rel.startswith(KNOWN_IMPORTER_DIR) and name.startswith(KNOWN_IMPORTED))


def fixture_paths(root: Path) -> list[str]:
    """`file:line` for each string outside the one place with a `fixtures` path component (a docstring or a bare
    string statement is prose, not a path)."""
    found = []
    for rel, tree in sources(root):
        if rel in (THE_ONE_PLACE, THIS_FILE):
            continue
        prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
                    and "fixtures" in node.value.split("/")):
                found.append(f"{rel}:{node.lineno}: {node.value!r}")
    return sorted(found)


def test_no_test_module_imports_another() -> None:
    assert imports_of_test_modules(ROOT) == []


def test_the_fixtures_path_is_built_in_one_place() -> None:
    assert fixture_paths(ROOT) == []
    assert (ROOT / THE_ONE_PLACE).read_text(encoding="utf-8").count('"fixtures"') == 1


def test_the_known_exceptions_are_still_real() -> None:
    """An exception that no longer occurs is dropped from KNOWN_TEST_IMPORTS, so it cannot come back unseen."""
    present = {(rel, name) for rel, tree in sources(ROOT) for name in imported_modules(tree)}
    assert KNOWN_TEST_IMPORTS - present == set()


def test_the_scan_sees_what_it_must(tmp_path: Path) -> None:
    """The checks are not vacuous: each kind of offence, planted in a scratch tree, is found."""
    (tmp_path / "tests" / "a").mkdir(parents=True)
    (tmp_path / "bench").mkdir()
    (tmp_path / "tests" / "a" / "test_x.py").write_text(
        '"""Docstring naming ../shared/fixtures/events: prose."""\n'
        "import test_y\nfrom test_z import SPEC\nfrom tests.a.test_w import f\nfrom . import test_v\n"
        "from tests.support.paths import FIXTURES\n")
    (tmp_path / "bench" / "b.py").write_text(
        'from pathlib import Path\nP = Path("..") / "shared" / "fixtures" / "events"\n'
        'Q = Path("/work/shared/fixtures/events")\n')
    assert imports_of_test_modules(tmp_path) == ["tests/a/test_x.py: test_y", "tests/a/test_x.py: test_z",
                                      "tests/a/test_x.py: tests.a.test_w", "tests/a/test_x.py: .test_v"]
    assert fixture_paths(tmp_path) == ["bench/b.py:2: 'fixtures'", "bench/b.py:3: '/work/shared/fixtures/events'"]
