"""re:Web, the original Go adapter (github.com/apparentorder/reweb), built from its source for the side-by-side
benchmark. Neither its source nor its dependency is ever part of this repository: the bench finds them at

    --go-source PATH / REWEB_GO_SOURCE=PATH      re:Web: a checkout (main.go + go.mod) or a git directory (a bare
                                                 clone: its HEAD is extracted with `git archive`)
    --lambda-go-source PATH / REWEB_LAMBDA_GO_SOURCE=PATH
                                                 github.com/aws/aws-lambda-go: a checkout of the version re:Web's
                                                 go.mod names (v1.23.0) or a git directory (that tag is extracted)
    bench/.cache/reweb-go/src, bench/.cache/reweb-go/aws-lambda-go    checkouts put there by hand

and builds it with the Go toolchain (Debian's `golang-go`, 1.19 here) as re:Web's Makefile does (`go build -tags
netgo -ldflags -s`, plus -trimpath), in GOPATH mode (GO111MODULE=off) with both trees laid out under
bench/.cache/reweb-go/gopath-*/src: no network needed. Without an aws-lambda-go tree it builds in module mode
instead (GOFLAGS=-mod=mod, checked against re:Web's go.sum), which needs the Go module proxy. The binary is cached
by the hash of both sources and the Go version.

    python3 bench/goreweb.py [--go-source PATH] [--lambda-go-source PATH]   # build (or find) it, print its path
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from common import CACHE_DIR

GO_CACHE = CACHE_DIR / "go"
HOME = CACHE_DIR / "reweb-go"
DEFAULT_SOURCE = HOME / "src"
DEFAULT_LAMBDA_GO = HOME / "aws-lambda-go"
HOW_TO_GET = (
    "re:Web's source is not here. Get it and its one dependency, then point the bench at them:\n"
    "  git clone https://github.com/apparentorder/reweb /tmp/reweb-go\n"
    "  git clone --branch v1.23.0 https://github.com/aws/aws-lambda-go /tmp/aws-lambda-go\n"
    "  REWEB_GO_SOURCE=/tmp/reweb-go REWEB_LAMBDA_GO_SOURCE=/tmp/aws-lambda-go python3 bench/sidebyside.py\n"
    f"(or --go-source/--lambda-go-source, or copies at {DEFAULT_SOURCE} and {DEFAULT_LAMBDA_GO}; a bare git "
    "directory works too), and install Go (Debian: apt-get install golang-go).")


class NotAvailable(Exception):
    """re:Web cannot be built here; the message says what is missing and how to get it."""


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").exists() and (path / "objects").is_dir()


def _extract(git_dir: Path, rev: str, dest: Path) -> Path:
    """`git archive` of rev into dest (once), with the commit noted in dest/.commit."""
    commit = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", f"{rev}^{{commit}}"],
                            capture_output=True, text=True, check=False).stdout.strip()
    if not commit:
        raise NotAvailable(f"{git_dir} has no {rev}.\n{HOW_TO_GET}")
    if not (dest / ".commit").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", commit], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        (dest / ".commit").write_text(commit + "\n")
    return dest


def source_dir(given: str | None = None) -> Path:
    """A directory holding re:Web's main.go and go.mod (extracted from a git directory when given one)."""
    raw = given or os.environ.get("REWEB_GO_SOURCE") or (str(DEFAULT_SOURCE) if DEFAULT_SOURCE.exists() else "")
    if not raw:
        raise NotAvailable(HOW_TO_GET)
    path = Path(raw).expanduser().resolve()
    if (path / "main.go").exists() and (path / "go.mod").exists():
        return path
    if _is_git_dir(path):
        head = subprocess.run(["git", "--git-dir", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        return _extract(path, head, HOME / f"src-{head[:12]}")
    raise NotAvailable(f"{path} holds neither main.go + go.mod nor a git directory.\n{HOW_TO_GET}")


def lambda_go_dir(version: str, given: str | None = None) -> Path | None:
    """aws-lambda-go at `version` (a checkout, or extracted from a git directory); None when not at hand."""
    raw = given or os.environ.get("REWEB_LAMBDA_GO_SOURCE") or (
        str(DEFAULT_LAMBDA_GO) if DEFAULT_LAMBDA_GO.exists() else "")
    if not raw:
        return None
    path = Path(raw).expanduser().resolve()
    if _is_git_dir(path):
        return _extract(path, version, HOME / f"aws-lambda-go-{version}")
    if (path / "lambda" / "entry.go").exists():
        return path
    raise NotAvailable(f"{path} is neither an aws-lambda-go checkout nor a git directory.\n{HOW_TO_GET}")


def commit_of(src: Path) -> str:
    marker = src / ".commit"
    if marker.exists():
        return marker.read_text().strip()
    found = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return found.stdout.strip() if found.returncode == 0 else "unknown"


def go_binary() -> str:
    found = shutil.which("go") or next((p for p in ("/usr/lib/go/bin/go", "/usr/local/go/bin/go")
                                        if Path(p).exists()), None)
    if not found:
        raise NotAvailable(f"no Go toolchain (Debian: apt-get install golang-go).\n{HOW_TO_GET}")
    return found


def dependency_version(src: Path) -> str:
    """The aws-lambda-go version re:Web's go.mod requires, e.g. 'v1.23.0'."""
    for line in (src / "go.mod").read_text().splitlines():
        if "github.com/aws/aws-lambda-go" in line:
            return line.split()[-1]
    raise NotAvailable(f"{src / 'go.mod'} does not require github.com/aws/aws-lambda-go")


def _tree_hash(*roots: Path) -> str:
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".go", ".mod", ".sum") and not path.name.endswith("_test.go"):
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build(given: str | None = None, lambda_go: str | None = None) -> tuple[Path, dict[str, str]]:
    """The re:Web binary (built once per source) and what it was built from."""
    src = source_dir(given)
    version = dependency_version(src)
    dep = lambda_go_dir(version, lambda_go)
    go = go_binary()
    go_version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.strip()
    key = hashlib.sha256((_tree_hash(src, *([dep] if dep else [])) + go_version).encode()).hexdigest()[:12]
    target = HOME / f"reweb-{key}"
    mode = "GOPATH mode, aws-lambda-go from a local copy" if dep else "module mode through GOPROXY, go.sum checked"
    about = {"source": "github.com/apparentorder/reweb", "commit": commit_of(src)[:12], "go": go_version,
             "dependency": f"github.com/aws/aws-lambda-go {version}"
             + (f" (commit {commit_of(dep)[:12]})" if dep else ""),
             "build": f"go build -trimpath -tags netgo -ldflags -s ({mode})"}
    if target.exists():
        return target, about
    GO_CACHE.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOCACHE=str(GO_CACHE / "build"), CGO_ENABLED="0")
    cwd = src
    if dep:
        gopath = HOME / f"gopath-{key}"
        for tree, name in ((src, "apparentorder/reweb"), (dep, "aws/aws-lambda-go")):
            where = gopath / "src" / "github.com" / name
            if not where.exists():
                shutil.copytree(tree, where, ignore=shutil.ignore_patterns(".git"))
        env.update(GO111MODULE="off", GOPATH=str(gopath), GOFLAGS="")
        cwd = gopath / "src" / "github.com" / "apparentorder" / "reweb"
    else:
        env.update(GOFLAGS="-mod=mod", GOMODCACHE=str(GO_CACHE / "mod"), GOPATH=str(GO_CACHE / "path"))
    partial = target.with_suffix(".tmp")
    result = subprocess.run([go, "build", "-trimpath", "-tags", "netgo", "-ldflags", "-s", "-o", str(partial), "."],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise NotAvailable(f"go build of re:Web failed ({mode}):\n{result.stderr[-2000:]}\n{HOW_TO_GET}")
    partial.rename(target)
    return target, about


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--go-source", help="re:Web's checkout or git directory (default: $REWEB_GO_SOURCE)")
    parser.add_argument("--lambda-go-source", help="aws-lambda-go's (default: $REWEB_LAMBDA_GO_SOURCE)")
    args = parser.parse_args(argv)
    try:
        binary, about = build(args.go_source, args.lambda_go_source)
    except NotAvailable as exc:
        print(exc, file=sys.stderr)
        return 2
    print(binary)
    for key, value in about.items():
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
