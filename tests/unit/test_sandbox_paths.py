"""What an instance's sandbox binds through its private /tmp (sandbox.named_tmp_paths): only entries right under
this machine's /tmp, whatever `..` or symlinks the app's command and environment spell."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reweb.local.sandbox import named_tmp_paths


@pytest.fixture
def top() -> Iterator[Path]:
    """A fresh entry right under /tmp (named_tmp_paths only sees /tmp, not pytest's tmp_path)."""
    path = Path("/tmp") / f"reweb-sandbox-paths-{os.getpid()}"
    path.mkdir(exist_ok=True)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()
    for link in Path("/tmp").glob(f"reweb-sandbox-link-{os.getpid()}-*"):
        link.unlink()


def test_names_under_tmp_give_their_top_entry(top: Path) -> None:
    (top / "app.py").write_text("")
    assert named_tmp_paths(["python3", f"{top}/app.py", f"DATA={top}/db/x.sqlite", f"P=/usr/bin:{top}"]) \
        == [str(top)]


def test_dot_dot_out_of_tmp_is_refused() -> None:
    assert named_tmp_paths(["/tmp/../etc/passwd", "X=/tmp/../var/lib/x", "/tmp/x/../../etc",
                            "/tmp/./../etc/shadow"]) == []


def test_dot_dot_that_stays_in_tmp_gives_the_entry_it_reaches(top: Path) -> None:
    assert named_tmp_paths([f"/tmp/nothing-here/../{top.name}/app.py"]) == [str(top)]


def test_tmp_itself_and_relative_or_doubled_spellings_are_refused(top: Path) -> None:
    assert named_tmp_paths(["/tmp", "/tmp/", "/tmp/.", f"/tmp/{top.name}/..", f"tmp/{top.name}",
                            f"//tmp/{top.name}"]) == []


def test_a_symlink_leaving_tmp_is_refused(top: Path) -> None:
    link = Path("/tmp") / f"reweb-sandbox-link-{os.getpid()}-out"
    link.symlink_to("/etc")
    assert named_tmp_paths([f"{link}/passwd", str(link)]) == []


def test_a_symlink_staying_in_tmp_is_kept(top: Path) -> None:
    link = Path("/tmp") / f"reweb-sandbox-link-{os.getpid()}-in"
    link.symlink_to(top)
    assert named_tmp_paths([f"{link}/app.py"]) == [str(link)]
