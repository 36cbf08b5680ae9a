#!/usr/bin/env python3
"""Validate reweb's deploy templates, or a folder written by `reweb init`, without an AWS account.

    python3 deploy/validate.py                 deploy/ (every SAM template, the Terraform module and examples)
    python3 deploy/validate.py DIR [DIR...]     any folders holding SAM/CloudFormation templates or *.tf files
    python3 deploy/validate.py --setup          only install the tools (idempotent)

What it runs (each in its own venv under build/deploy-venv/, made here on first use, since these tools pin
conflicting versions):
  * CloudFormation / SAM: `cfn-lint` (the SAM transform applied) and `sam validate --lint`: no error, no warning;
  * Terraform: every *.tf parsed with python-hcl2 (no Terraform binary is reachable here, so no `terraform
    validate`: provider schemas are not checked);
  * both: checkov. Every check it fails must be skipped in the template with a written reason (a CloudFormation
    `Metadata: checkov: skip:` entry with a comment, or `#checkov:skip=ID:reason` in Terraform), and every skip
    must be needed: the same scan with the skips removed must fail exactly the skipped checks. SAM templates are
    also scanned with every optional piece switched on (each "false" default of a true/false parameter made
    "true"), since checkov evaluates conditions with the parameters' defaults.
The tools never reach the network: as root they run in a network namespace of their own (`unshare --net`), and
checkov runs with --skip-download. Exit status 0 when everything passes; each failure is printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / "build" / "deploy-venv"
# Pinned: a new release of a linter may add a rule, and CI should not fail on a day nothing changed here.
# aws-sam-cli is the version tests/support/rie.py takes the RIE from.
TOOLS = {
    "sam": ["aws-sam-cli==1.170.0", "cfn-lint==1.58.0", "python-hcl2==8.1.4"],
    "checkov": ["checkov==3.3.30"],
}
REGION = "us-east-1"  # sam validate wants one; nothing is sent there


def venv_bin(name: str, tool: str) -> Path:
    return VENVS / name / "bin" / tool


def setup() -> None:
    """Each tool set in its own venv, installed once: a marker file records what was installed."""
    for name, packages in TOOLS.items():
        venv = VENVS / name
        marker = venv / "reweb-installed.txt"
        wanted = "\n".join(packages) + "\n"
        if marker.exists() and marker.read_text() == wanted:
            continue
        print(f"validate: installing {' '.join(packages)} into {venv} (first run only)", file=sys.stderr)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", *packages], check=True)
        marker.write_text(wanted)


def offline(argv: list[str]) -> list[str]:
    """The command in a network namespace with only a loopback when we may make one (root)."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "--net", "--", *argv]
    return argv


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_DEFAULT_REGION": REGION, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    return subprocess.run(offline(argv), capture_output=True, text=True, env=env, cwd=cwd, check=False,
                          timeout=600)


def find(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(CloudFormation/SAM templates, folders with *.tf files) under the given paths."""
    templates: list[Path] = []
    tf_dirs: set[Path] = set()
    for top in paths:
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in files:
            if any(part.startswith(".") for part in path.relative_to(top).parts):
                continue  # .terraform/ and the like
            if path.suffix in (".yaml", ".yml", ".json", ".template"):
                head = path.read_text(errors="replace")[:4000]
                if "AWSTemplateFormatVersion" in head or "AWS::Serverless" in head:
                    templates.append(path)
            elif path.suffix == ".tf":
                tf_dirs.add(path.parent)
    return templates, sorted(tf_dirs)


# -- checkov and its skips -------------------------------------------------------------------------------------

CFN_SKIP = re.compile(r"^(?P<indent> +)Metadata:\n(?P=indent)  checkov:\n(?:(?P=indent)    .*\n)+", re.M)
CFN_ENTRY = re.compile(r"- id: (\w+)\n\s+comment: (.+)")
TF_SKIP = re.compile(r"^\s*#checkov:skip=(\w+):(.*)$", re.M)


def cfn_skips(text: str) -> tuple[str, set[tuple[str, str]], list[str]]:
    """(the template without its checkov skips, {(check, resource)}, problems such as a skip without reason)."""
    skips: set[tuple[str, str]] = set()
    problems: list[str] = []
    for block in CFN_SKIP.finditer(text):
        resource = re.findall(r"^  (\w+):\n", text[:block.start()], re.M)[-1]
        entries = CFN_ENTRY.findall(block.group(0))
        if len(entries) != block.group(0).count("- id:"):
            problems.append(f"{resource}: a checkov skip without a comment (its reason)")
        for check, _reason in entries:
            skips.add((check, resource))
    return CFN_SKIP.sub("", text), skips, problems


def tf_skips(folder: Path) -> tuple[set[tuple[str, str]], list[str]]:
    skips: set[tuple[str, str]] = set()
    problems: list[str] = []
    for path in sorted(folder.rglob("*.tf")):
        resource = ""
        for line in path.read_text().splitlines():
            found = re.match(r'\s*resource "(\w+)" "(\w+)"', line)
            if found:
                resource = f"{found.group(1)}.{found.group(2)}"
            skip = TF_SKIP.match(line)
            if skip:
                if not skip.group(2).strip():
                    problems.append(f"{path.name}: {resource}: skip {skip.group(1)} has no reason")
                skips.add((skip.group(1), resource))
    return skips, problems


def checkov(target: Path, framework: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]], str]:
    """(failed, skipped) as {(check, resource)} where resource is the logical id / type.name."""
    flag = "-d" if target.is_dir() else "-f"
    done = run([str(venv_bin("checkov", "checkov")), flag, str(target), "--framework", framework,
                "--skip-download", "--quiet", "--compact", "-o", "json"])
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else {}
    except json.JSONDecodeError:
        return set(), set(), f"checkov {target}: no JSON result (exit {done.returncode}):\n{done.stderr[-2000:]}"
    reports = data if isinstance(data, list) else [data]
    failed: set[tuple[str, str]] = set()
    skipped: set[tuple[str, str]] = set()

    def name(check: dict[str, object]) -> str:
        resource = str(check["resource"])
        if framework == "cloudformation":
            return resource.rsplit(".", 1)[-1]  # AWS::S3::Bucket.Offload -> Offload
        resource = re.sub(r"^module\.\w+\.", "", resource)
        return re.sub(r"\[[^\]]*\]", "", resource)

    for report in reports:
        results = report.get("results", {}) if isinstance(report, dict) else {}
        failed |= {(c["check_id"], name(c)) for c in results.get("failed_checks", [])}
        skipped |= {(c["check_id"], name(c)) for c in results.get("skipped_checks", [])}
    if done.returncode not in (0, 1):
        return failed, skipped, f"checkov {target}: exit {done.returncode}:\n{done.stderr[-2000:]}"
    return failed, skipped, ""


def all_options_on(text: str) -> str:
    """Every true/false parameter defaulting to "false" switched on, so conditional resources are scanned."""
    return re.sub(r'Default: "false"(\n\s+AllowedValues: \["true", "false"\])', r'Default: "true"\1', text)


def check_templates(templates: list[Path], errors: list[str]) -> None:
    if not templates:
        return
    done = run([str(venv_bin("sam", "cfn-lint")), *map(str, templates)])
    if done.returncode != 0:
        errors.append(f"cfn-lint (exit {done.returncode}):\n{done.stdout}{done.stderr[-2000:]}")
    for template in templates:
        text = template.read_text()
        if "AWS::Serverless" in text:
            done = run([str(venv_bin("sam", "sam")), "validate", "--lint", "--region", REGION, "-t", str(template)])
            if done.returncode != 0 or "is a valid SAM Template" not in done.stdout:
                errors.append(f"sam validate --lint {template}:\n{done.stdout}{done.stderr[-2000:]}")
        stripped, skips, problems = cfn_skips(text)
        errors.extend(f"{template}: {p}" for p in problems)
        with tempfile.TemporaryDirectory(prefix="reweb-validate-") as tmp:
            variants = {"defaults": text, "every option on": all_options_on(text)}
            for label, variant in variants.items():
                copy = Path(tmp) / template.name
                copy.write_text(variant)
                failed, _skipped, problem = checkov(copy, "cloudformation")
                if problem:
                    errors.append(problem)
                for check, resource in sorted(failed):
                    errors.append(f"checkov {template} ({label}): {check} fails on {resource} and is not skipped "
                                  "with a reason")
            # Every skip needed: with the skips removed, exactly the skipped checks fail (options on: all resources).
            copy = Path(tmp) / template.name
            copy.write_text(all_options_on(stripped))
            unskipped, _s, problem = checkov(copy, "cloudformation")
            if problem:
                errors.append(problem)
            for check, resource in sorted(skips - unskipped):
                errors.append(f"{template}: the skip of {check} on {resource} is not needed (checkov passes it)")


def check_terraform(folders: list[Path], errors: list[str]) -> None:
    if not folders:
        return
    files = sorted({str(p) for folder in folders for p in folder.glob("*.tf")})
    parse = ("import hcl2, sys\n"
             "for name in sys.argv[1:]:\n"
             "    with open(name) as f:\n"
             "        try:\n"
             "            hcl2.load(f)\n"
             "        except Exception as exc:\n"
             "            print(f'{name}: {exc}'.splitlines()[0]); bad = True\n")
    done = run([str(venv_bin("sam", "python")), "-c", parse, *files])
    if done.returncode != 0 or done.stdout.strip():
        errors.append(f"python-hcl2 could not parse:\n{done.stdout}{done.stderr[-2000:]}")
    # One scan over the common top: checkov follows local module sources from the examples.
    tops = sorted({common_top(folders)})
    for top in tops:
        failed, _skipped, problem = checkov(top, "terraform")
        if problem:
            errors.append(problem)
        for check, resource in sorted(failed):
            errors.append(f"checkov {top}: {check} fails on {resource} and is not skipped with a reason")
        skips, problems = tf_skips(top)
        errors.extend(problems)
        with tempfile.TemporaryDirectory(prefix="reweb-validate-") as tmp:
            copy = Path(tmp) / top.name
            shutil.copytree(top, copy, ignore=shutil.ignore_patterns(".*"))
            for path in copy.rglob("*.tf"):
                path.write_text(TF_SKIP.sub("", path.read_text()))
            unskipped, _s, problem = checkov(copy, "terraform")
            if problem:
                errors.append(problem)
        for check, resource in sorted(skips - unskipped):
            errors.append(f"{top}: the skip of {check} on {resource} is not needed (checkov passes it)")


def common_top(folders: list[Path]) -> Path:
    return Path(os.path.commonpath([str(f) for f in folders]))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--setup"]:
        setup()
        return 0
    paths = [Path(a).resolve() for a in argv] or [ROOT / "deploy"]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"validate: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    setup()
    templates, tf_folders = find(paths)
    if not templates and not tf_folders:
        print(f"validate: no CloudFormation/SAM template and no *.tf file under {', '.join(map(str, paths))}",
              file=sys.stderr)
        return 2
    errors: list[str] = []
    check_templates(templates, errors)
    check_terraform(tf_folders, errors)
    for error in errors:
        print(f"FAIL {error}")
    print(f"validate: {len(templates)} CloudFormation/SAM template(s), {len(tf_folders)} Terraform folder(s): "
          + ("ok" if not errors else f"{len(errors)} problem(s)"))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
