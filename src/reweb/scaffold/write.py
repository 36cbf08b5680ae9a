"""`reweb init`'s writer: the rendered files into the folder, all or nothing, never through a symbolic link."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .plan import ScaffoldError


def write(out: Path, files: dict[str, str | bytes], force: bool, generated: Iterable[str] = ()) -> list[str]:
    """Write files under out; nothing at all if one that exists differs (and is not one of the generated) and
    force is off. Returns the changed."""
    data = {rel: text.encode() if isinstance(text, str) else text for rel, text in files.items()}
    _refuse_links(out, data)
    changed = [rel for rel, content in data.items() if not _same(out / rel, content)]
    conflicts = [rel for rel in changed if (out / rel).exists() and rel not in set(generated)]
    if conflicts and not force:
        raise ScaffoldError(f"{os.path.relpath(out)} has files that differ from what would be written "
                            f"({', '.join(conflicts)}): kept as they are; use --force to overwrite them")
    if not changed:
        return []
    if not out.exists():
        # A fresh folder appears whole or not at all: written aside, then renamed into place.
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            for rel, content in data.items():
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                _write_new(staging / rel, content)
            staging.chmod(0o755)
            staging.rename(out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return list(files)
    for rel in changed:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_new(target, data[rel])
    return changed


def _refuse_links(out: Path, rels: Iterable[str]) -> None:
    """A symbolic link where a file or folder is written would send the write elsewhere: refused, even forced."""
    paths = {out}
    for rel in rels:
        parts = Path(rel).parts
        paths.update(out.joinpath(*parts[:end]) for end in range(1, len(parts) + 1))
    for path in sorted(paths):
        if path.is_symlink():
            raise ScaffoldError(f"{os.path.relpath(path)} is a symbolic link: reweb init never writes through one "
                                "(remove it, or give another --dir)")


def _write_new(target: Path, content: bytes) -> None:
    """The file whole, never half-written: a new temporary file of a random name (O_EXCL: never an existing
    file or link) beside the target, renamed over it (a rename replaces a link, it does not follow it)."""
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".reweb-init", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o644)
            file.write(content)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _same(path: Path, content: bytes) -> bool:
    try:
        return path.read_bytes() == content
    except OSError:
        return False
