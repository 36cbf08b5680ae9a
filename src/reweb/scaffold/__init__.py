"""`reweb init`: write a folder that deploys this app on AWS Lambda behind the chosen front door.

    reweb init [--front-door DOOR] [--port N] [--memory MB] ... -- CMD ARGS...

It first runs CMD under `reweb local` (the chosen front door, the given port) and stops at the first answer, so
a command that does not start, or a port the app never opens, is a one-line error with nothing written. Then it
writes, into `--dir` (default `reweb-deploy/`): a Dockerfile (reweb and its SBOM added by `COPY --from=reweb`, or
`--install pip`: pip installs the reweb-lambda wheel written beside it, built from this checkout or given with
`--wheel`, as the package is not on PyPI yet), the SAM template of that front door (deploy/sam/, its parameters'
defaults set to what was given) or the Terraform module with a main.tf calling it (`--iac terraform`), and a
README of the deploy commands. Files that exist and differ are never overwritten without `--force`, and nothing is
ever written through a symbolic link.

The package is `scaffold`, not `init` (Lambda's init phase is another thing): plan.py reads the command line
into a Plan, check.py runs the app under `reweb local`, render.py makes the files, write.py writes them. Only
`reweb init` imports it (cli.py); the adapter never loads it.
"""

from __future__ import annotations

import os
import sys

from .check import check_app
from .plan import Plan, ScaffoldError, make_plan, parser, templates_dir
from .render import build_wheel, dockerfile, dockerignore, readme, render, sam_template, terraform_main
from .write import write

__all__ = ["Plan", "ScaffoldError", "build_wheel", "check_app", "dockerfile", "dockerignore", "main", "make_plan",
           "parser", "readme", "render", "sam_template", "templates_dir", "terraform_main", "write"]


def main(argv: list[str]) -> int:
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    else:
        command = []
    args = parser().parse_args(argv)
    try:
        plan = make_plan(args, command)
        if not args.no_check:
            check_app(plan)
        files = render(plan)
        # The wheel is reweb's, never edited: a newer one replaces it without --force.
        written = write(plan.out, files, args.force, generated={rel for rel in files if rel.endswith(".whl")})
    except ScaffoldError as exc:
        sys.stderr.write(f"reweb init: {exc}\n")
        return 2
    for note in plan.notes:
        sys.stderr.write(f"reweb init: note: {note}\n")
    rel = os.path.relpath(plan.out)
    if written:
        print(f"reweb init: wrote {', '.join(os.path.join(rel, f) for f in written)}")
    else:
        print(f"reweb init: {rel} is up to date")
    print(f"reweb init: next: {os.path.join(rel, 'README.md')} (build, push, deploy)")
    return 0

