"""Every Dockerfile in the docs is built by the suite as written, or says plainly that it is not.

The lint (no Docker): each fenced block of README.md and docs/**/*.md that is a Dockerfile (its fence says
Dockerfile, or a line of it starts with `FROM `) comes right after one of these comments:
  <!-- reweb-guide-dockerfile ... -->      a guide's Dockerfile (docs/apps/<app>.md), built by test_guides.py;
  <!-- reweb-dockerfile: NAME, context DIR/, built and run by TEST -->
                                           built with DIR as its context and run under the RIE by TEST (BUILT);
  <!-- reweb-dockerfile-alternative -->    a variant the tests do not build; the text before it says
                                           "not built by the tests";
  <!-- reweb-dockerfile-fragment -->       a few lines (the `COPY --from=reweb` line), each of them in a built
                                           block of the same page.
An unmarked block fails the lint, and so does a BUILT entry the docs no longer have.

The README's "Put it in an image" block is built here (its context docs/examples/php/) and gets test_images.py's PHP
checks; docs/images.md's recipes are built by test_images.py itself (test_images.doc_dockerfile).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.images import test_images
from tests.images.test_images import DOC_MARKER, doc_dockerfile

reweb_image = test_images.reweb_image  # the fixture: reweb:latest, which `COPY --from=reweb` finds

#: (page, NAME) of every block marked `reweb-dockerfile: NAME`: the test that builds it and runs it.
BUILT = {
    ("README.md", "readme"): "tests/images/test_docs_dockerfiles.py::test_readme_dockerfile",
    ("docs/images.md", "php"): "tests/images/test_images.py::test_php_image_form_and_cookies",
    ("docs/images.md", "python"): "tests/images/test_images.py::test_python_image_json_and_binary",
    ("docs/images.md", "static"): "tests/images/test_images.py::test_scratch_image_serves_static_files",
}
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^\s`]*)")
COMMENT = re.compile(r"^\s*<!-- (reweb-[\w-]+)\b(:?[^>]*)-->\s*$")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def dockerfile_blocks(text: str) -> list[tuple[int, str, str, str]]:
    """(line number of the fence, the line before it, the paragraph before that, the block's text) of each
    Dockerfile-like fenced block."""
    lines = text.splitlines()
    found: list[tuple[int, str, str, str]] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, info = opening.groups()
        end = index + 1
        while end < len(lines) and not re.match(rf"^\s*{fence[0]}{{{len(fence)},}}\s*$", lines[end]):
            end += 1
        body = "\n".join(line.strip() for line in lines[index + 1:end])
        if info.lower() in ("dockerfile", "containerfile", "docker") or re.search(r"^FROM\s", body, re.M):
            prose = "\n".join(lines[:max(index - 1, 0)]).rstrip().rsplit("\n\n", 1)[-1]
            found.append((index + 1, lines[index - 1] if index else "", prose, body))
        index = end + 1
    return found


def lint(relative: str, text: str) -> list[str]:
    """What is wrong with the page's Dockerfile blocks (empty: nothing)."""
    problems: list[str] = []
    blocks = dockerfile_blocks(text)
    built = {m["name"]: m["body"] for m in DOC_MARKER.finditer(text)}
    built_lines = {line.strip() for body in built.values() for line in body.splitlines()}
    for number, before, prose, body in blocks:
        where = f"{relative}:{number}"
        comment = COMMENT.match(before)
        kind = comment.group(1) if comment else None
        if kind == "reweb-guide-dockerfile" and relative.startswith("docs/apps/"):
            continue
        if kind == "reweb-dockerfile" and comment is not None:  # kind is only ever set from a comment
            name = comment.group(2).removeprefix(":").split(",")[0].strip()
            if name not in built or built[name].strip() != body.strip():
                problems.append(f"{where}: its reweb-dockerfile marker does not read `NAME, context DIR/, ...`")
            elif (relative, name) not in BUILT:
                problems.append(f"{where}: marked as built ({name}) but no test builds it (BUILT)")
            continue
        if kind == "reweb-dockerfile-alternative":
            if "not built by the tests" not in prose:
                problems.append(f"{where}: an alternative whose text before it does not say 'not built by the tests'")
            continue
        if kind == "reweb-dockerfile-fragment":
            missing = [line for line in body.splitlines() if line.strip() and line.strip() not in built_lines]
            if missing:
                problems.append(f"{where}: fragment lines in no built block of the page: {missing}")
            continue
        problems.append(f"{where}: a Dockerfile block neither built by the tests nor marked as an alternative")
    return problems


def test_every_dockerfile_in_the_docs_is_built_or_marked_alternative() -> None:
    problems: list[str] = []
    marked: set[tuple[str, str]] = set()
    for page in pages():
        relative = page.relative_to(ROOT).as_posix()
        text = page.read_text()
        problems += lint(relative, text)
        marked |= {(relative, m["name"]) for m in DOC_MARKER.finditer(text)}
        for found in DOC_MARKER.finditer(text):
            if not (ROOT / found["context"]).is_dir():
                problems.append(f"{relative}: {found['name']}'s context {found['context']} is not a folder")
    problems += [f"{page}: no block marked `reweb-dockerfile: {name}` (BUILT names it)"
                 for page, name in sorted(set(BUILT) - marked)]
    assert not problems, "\n".join(problems)


def test_the_lint_catches_what_it_should() -> None:
    """The lint on made-up pages: each kind of mistake is reported, each kind of good block passes."""
    unmarked = "Text.\n\n```Dockerfile\nFROM debian:bookworm-slim\n```\n"
    hidden = "Text.\n\n```\nFROM php:8.2-cli\nCOPY . /app\n```\n"
    bad_alternative = "Text.\n\n<!-- reweb-dockerfile-alternative -->\n```Dockerfile\nFROM php:8.2-cli\n```\n"
    good_alternative = ("The same on php:8.2-cli, not built by the tests:\n\n<!-- reweb-dockerfile-alternative -->\n"
                        "```Dockerfile\nFROM php:8.2-cli\n```\n")
    built = ("<!-- reweb-dockerfile: php, context docs/examples/php/, built by X -->\n```Dockerfile\n"
             "FROM debian:bookworm-slim\nCOPY --from=reweb /reweb /usr/local/bin/reweb\n```\n")
    fragment = "<!-- reweb-dockerfile-fragment -->\n```Dockerfile\nCOPY --from=reweb /reweb /usr/local/bin/reweb\n```\n"
    stray = "<!-- reweb-dockerfile-fragment -->\n```Dockerfile\nCOPY --from=reweb /reweb /reweb\n```\n"
    assert len(lint("docs/x.md", unmarked)) == 1
    assert len(lint("docs/x.md", hidden)) == 1  # no language on the fence, but a FROM line
    assert len(lint("docs/x.md", bad_alternative)) == 1
    assert lint("docs/x.md", good_alternative) == []
    assert lint("docs/images.md", fragment + "\n" + built) == []
    assert len(lint("docs/images.md", stray + "\n" + built)) == 1
    assert len(lint("docs/other.md", built)) == 1  # marked as built, but BUILT has no test for it
    guide = "<!-- reweb-guide-dockerfile: built by tests/images/test_guides.py -->\n" + unmarked.split("\n\n")[1]
    assert lint("docs/apps/x.md", guide) == []
    assert len(lint("docs/images.md", guide)) == 1  # a guide's marker outside docs/apps/


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_readme_dockerfile(reweb_image: str) -> None:
    """README.md's "Put it in an image" block, as written: the PHP page's form POST and cookies under the RIE."""
    image = test_images.build_doc_image("README.md", "readme")
    assert doc_dockerfile("README.md", "readme")[1] == ROOT / "docs" / "examples" / "php"
    test_images.check_php_form_and_cookies(image)

