"""The README and docs say what is true today.

Two marks, each on the line right before a fenced block:

- `<!-- runnable -->` before a ```bash or ```sh block: the block is run (bash -e, from the repository root) and
  must succeed. Only cheap, bounded, read-only commands are marked (the test commands, servers and deployments
  are not).
- `<!-- real-output: COMMAND -->` before a sample of output: COMMAND is run and the sample must be a run of
  consecutive lines of what it prints, with numbers normalised (durations, ports and money change every run;
  the words, the lines and their order must not).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
MARK = re.compile(r"^<!-- (runnable|real-output: (.+?)) -->$")
FENCE = re.compile(r"^```")


def blocks() -> list[tuple[str, str, str, str]]:
    """(where, kind, command, text) of every marked block; kind is "runnable" or "real-output"."""
    found = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            mark = MARK.match(line)
            if not mark:
                continue
            where = f"{page.relative_to(ROOT)}:{i + 1}"
            assert i + 1 < len(lines) and FENCE.match(lines[i + 1]), f"{where}: the mark is not right before a block"
            end = next(j for j in range(i + 2, len(lines)) if FENCE.match(lines[j]))
            kind = "runnable" if mark.group(1) == "runnable" else "real-output"
            if kind == "runnable":
                assert lines[i + 1] in ("```bash", "```sh"), f"{where}: a runnable block is ```bash or ```sh"
            found.append((where, kind, mark.group(2) or "", "\n".join(lines[i + 2:end])))
    return found


BLOCKS = blocks()


def normalise(line: str) -> str:
    line = re.sub(r"\d+(?:\.\d+)?", "N", line)
    return re.sub(r"N(?:, N)+", "N", line).rstrip()  # "init durations: 324.50, 487.98 ms": as many as cold starts


def run(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(("where", "block"), [(w, t) for w, k, _, t in BLOCKS if k == "runnable"],
                         ids=[w for w, k, _, _ in BLOCKS if k == "runnable"])
def test_runnable_blocks_run(where: str, block: str) -> None:
    result = run(block)
    assert result.returncode == 0, (f"{where}: exit {result.returncode}\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-3000:]}")


@pytest.mark.parametrize(("where", "command", "sample"), [(w, c, t) for w, k, c, t in BLOCKS if k == "real-output"],
                         ids=[w for w, k, _, _ in BLOCKS if k == "real-output"])
def test_samples_are_real_output(where: str, command: str, sample: str) -> None:
    result = run(command)
    if result.returncode == 77:  # the command cannot show this sample on this machine, and says why
        pytest.skip(result.stderr.strip())
    assert result.returncode == 0, f"{where}: {command}: exit {result.returncode}\n{result.stderr[-3000:]}"
    wanted = [normalise(line) for line in sample.splitlines()]
    got = [normalise(line) for line in result.stdout.splitlines()]
    runs = [i for i in range(len(got) - len(wanted) + 1) if got[i:i + len(wanted)] == wanted]
    assert runs, (f"{where}: the sample is not what `{command}` prints; paste its output:\n" + result.stdout)


def test_the_marks_cover_what_must_stay_true() -> None:
    """Every sample of reweb local's console is tied to a real run, and something is runnable."""
    marked = {text for _, kind, _, text in BLOCKS if kind == "real-output"}
    for page in PAGES:
        text = page.read_text()
        for sample in re.findall(r"^```\n(.*?)^```$", text, flags=re.S | re.M):
            if re.search(r"^reweb local: (summary|ready)", sample, flags=re.M):
                assert sample.rstrip("\n") in marked, f"{page.relative_to(ROOT)}: an unmarked console sample:\n{sample}"
    assert any(kind == "runnable" for _, kind, _, _ in BLOCKS)
    assert any("summary" in command for _, _, command, _ in BLOCKS)


def test_no_heading_is_a_leftover_edit_instruction() -> None:
    """A heading that quotes another heading (`## Deploy it" after "## Try any app locally"...) is an
    instruction to an editor that was pasted, not a title."""
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            if line.startswith("#"):
                assert not re.search(r'"#+ ', line), f"{page.relative_to(ROOT)}:{number}: {line}"


def test_commands_name_python3() -> None:
    """Debian has no `python` command: the docs' commands say python3."""
    wrong = [f"{page.relative_to(ROOT)}:{number}: {line.strip()}" for page in PAGES
             for number, line in enumerate(page.read_text().splitlines(), 1)
             if re.search(r"(^|[`\s(])python (tools|bench|scripts|deploy)/", line)]
    assert not wrong, "\n".join(wrong)


def test_every_test_the_docs_name_exists() -> None:
    """The settings tables (and any page) name tests: each one is defined, each test file is there."""
    defined = {name for path in (ROOT / "tests").glob("**/*.py")
               for name in re.findall(r"^\s*(?:async )?def (test_\w+)", path.read_text(), flags=re.M)}
    missing = []
    for page in PAGES:
        text = page.read_text()
        missing += [f"{page.relative_to(ROOT)}: {name}" for name in re.findall(r"`(test_\w+)`", text)
                    if name not in defined]
        paths = re.findall(r"`(tests/[\w/.-]+\.py)(?:::\w+)?`", text)
        missing += [f"{page.relative_to(ROOT)}: {path}" for path in paths if not (ROOT / path).exists()]
    assert not missing, "named in the docs, not in tests/:\n" + "\n".join(missing)
