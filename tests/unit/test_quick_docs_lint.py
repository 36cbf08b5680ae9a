"""`scripts/test --quick` runs the docs' Dockerfile lint: every test of tests/images/test_docs_dockerfiles.py that
builds nothing (no fixture, no integration mark) is named in the quick run's docs-lint stage, and nothing else
is (the image build stays in the full run). Read from the files, not imported: no test module imports another."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = "tests/images/test_docs_dockerfiles.py"


def lint_tests() -> set[str]:
    """The module's tests that take no fixture and carry no integration mark: the Markdown-only ones."""
    tree = ast.parse((ROOT / LINT).read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        marks = {ast.unparse(decorator) for decorator in node.decorator_list}
        if not node.args.args and not any("integration" in mark for mark in marks):
            found.add(node.name)
    return found


def quick_stage_tests() -> set[str]:
    """The node ids in scripts/test's docs_lint=(...) array, as test names of LINT."""
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    array = re.search(r"^\s*docs_lint=\(([^)]*)\)", script, re.M)
    assert array is not None, "scripts/test has no docs_lint=(...) for --quick"
    names = set()
    for word in shlex.split(array.group(1), comments=True):
        path, _, name = word.partition("::")
        assert path == LINT, word
        names.add(name)
    return names


def test_the_quick_run_runs_every_markdown_only_test_of_the_dockerfile_lint() -> None:
    assert lint_tests()  # the scan finds the lint (not vacuous)
    assert quick_stage_tests() == lint_tests()


def test_the_quick_run_gives_the_lint_a_lock_of_its_own_and_runs_the_stage() -> None:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    quick = script[script.index("if [ $quick = 1 ]; then"):]
    quick = quick[:quick.index("\nfi\n")]
    assert re.search(r'REWEB_MACHINE_LOCK=\S+ tests docs-lint python3 -m pytest .*"\$\{docs_lint\[@\]\}"', quick)
    assert quick.index("docs-lint") < quick.index("finish")
