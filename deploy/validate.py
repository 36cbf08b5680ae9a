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
    must be needed: the same scan with the skips removed must fail each skipped check. SAM templates are also
    scanned with every optional piece switched on (each "false" default of a true/false parameter made "true"),
    since checkov evaluates conditions with the parameters' defaults. For Terraform, skips must be needed in
    reweb's own deploy/terraform (its examples create every resource of the module); in a configuration that
    creates only part of it (one front door, as `reweb init` writes), unneeded skips are counted, not failed.
The tools never reach the network: as root they run in a network namespace of their own (`unshare --net`), and
checkov runs with --skip-download. Exit status 0 when everything passes; each failure is printed.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent  # deploy/ of a checkout, or reweb/deploy/ in an installed package
ROOT = HERE.parent
# The tools' venvs: under build/ in a checkout (ignored by git), else in reweb's cache (as the RIE is).
VENVS = (ROOT / "build" / "deploy-venv" if (ROOT / "pyproject.toml").exists() else
         Path(os.environ.get("REWEB_CACHE", Path.home() / ".cache" / "reweb")) / "deploy-venv")
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
    """The command in a network namespace with only a loopback, when this machine lets us make one (root)."""
    if _can_unshare():
        return ["unshare", "--net", "--", *argv]
    return argv


@functools.cache
def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--net", "--", "true"], capture_output=True, check=False).returncode == 0


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


def checkov(top: Path) -> tuple[dict[str, set[tuple[str, str]]], dict[str, set[tuple[str, str]]], str]:
    """One checkov run over a folder: {file relative to top: {(check, resource) failed}}, the same of the checks
    skipped, and a problem if any. resource is the CloudFormation logical id, or the Terraform type.name (module
    path and index dropped). Terraform resources with count = 0 are not scanned (but by graph checks, CKV2_*)."""
    done = run([str(venv_bin("checkov", "checkov")), "-d", str(top), "--framework", "cloudformation", "terraform",
                "--skip-download", "--compact", "-o", "json"])  # not --quiet: it drops the skipped checks
    try:
        data = json.loads(done.stdout) if done.stdout.strip() else []
    except json.JSONDecodeError:
        return {}, {}, f"checkov: no JSON result (exit {done.returncode}):\n{done.stderr[-2000:]}"
    failed: dict[str, set[tuple[str, str]]] = {}
    skipped: dict[str, set[tuple[str, str]]] = {}
    for report in data if isinstance(data, list) else [data]:
        framework = report.get("check_type", "")
        results = report.get("results", {})
        for kind, found in ((k, f) for k in ("failed_checks", "skipped_checks")
                            for f in results.get(k, [])):
            resource = str(found["resource"])
            if framework == "cloudformation":
                resource = resource.rsplit(".", 1)[-1]  # AWS::S3::Bucket.Offload -> Offload
            else:
                resource = re.sub(r"\[[^\]]*\]", "", re.sub(r"^(module\.\w+\.)+", "", resource))
            path = Path(found.get("file_abs_path") or top / found["file_path"].lstrip("/")).resolve()
            name = path.relative_to(top.resolve()).as_posix()
            (failed if kind == "failed_checks" else skipped).setdefault(name, set()).add((found["check_id"], resource))
    if done.returncode not in (0, 1):
        return failed, skipped, f"checkov: exit {done.returncode}:\n{done.stderr[-2000:]}"
    return failed, skipped, ""


def all_options_on(text: str) -> str:
    """Every true/false parameter defaulting to "false" switched on, so conditional resources are scanned."""
    return re.sub(r'Default: "false"(\n\s+AllowedValues: \["true", "false"\])', r'Default: "true"\1', text)


PARSE_HCL = """import hcl2, sys
bad = False
for name in sys.argv[1:]:
    with open(name) as f:
        try:
            hcl2.load(f)
        except Exception as exc:
            print(f"{name}: {exc}".splitlines()[0]); bad = True
sys.exit(1 if bad else 0)
"""


def check(templates: list[Path], tf_folders: list[Path], errors: list[str]) -> None:
    """cfn-lint, sam validate and python-hcl2, beside one checkov run over every variant of every file."""
    with tempfile.TemporaryDirectory(prefix="reweb-validate-") as tmp, ThreadPoolExecutor(2) as pool:
        jobs = []  # (what to call it in a failure, its result)
        if templates:
            jobs.append(("cfn-lint", pool.submit(run, [str(venv_bin("sam", "cfn-lint")), *map(str, templates)])))
            jobs += [(f"sam validate --lint --region {REGION} -t {t}",
                      pool.submit(run, [str(venv_bin("sam", "sam")), "validate", "--lint", "--region", REGION,
                                        "-t", str(t)])) for t in templates if "AWS::Serverless" in t.read_text()]
        if tf_folders:
            files = sorted({str(p) for folder in tf_folders for p in folder.glob("*.tf")})
            jobs.append(("python-hcl2 (parse)",
                         pool.submit(run, [str(venv_bin("sam", "python")), "-c", PARSE_HCL, *files])))
        # What checkov scans: each template as written, with every option on, and without its skips (options
        # on); the Terraform files as written and without their skips.
        top = Path(tmp)
        skips: dict[Path, set[tuple[str, str]]] = {}
        for i, template in enumerate(templates):
            text = template.read_text()
            stripped, skips[template], problems = cfn_skips(text)
            errors.extend(f"{template}: {p}" for p in problems)
            for variant, content in (("defaults", text), ("on", all_options_on(text)),
                                     ("unskipped", all_options_on(stripped))):
                (top / "cfn" / variant).mkdir(parents=True, exist_ok=True)
                (top / "cfn" / variant / f"{i}-{template.name}").write_text(content)
        tf_top = common_top(tf_folders) if tf_folders else None
        tf_skip_set: set[tuple[str, str]] = set()
        if tf_top is not None:
            tf_skip_set, problems = tf_skips(tf_top)
            errors.extend(problems)
            shutil.copytree(tf_top, top / "tf" / "defaults", ignore=shutil.ignore_patterns(".*"))
            shutil.copytree(tf_top, top / "tf" / "unskipped", ignore=shutil.ignore_patterns(".*"))
            for path in (top / "tf" / "unskipped").rglob("*.tf"):
                path.write_text(TF_SKIP.sub("", path.read_text()))
        failed, skipped, problem = checkov(top)
        if problem:
            errors.append(problem)
        for i, template in enumerate(templates):
            for variant, label in (("defaults", "defaults"), ("on", "every option on")):
                for check_id, resource in sorted(failed.get(f"cfn/{variant}/{i}-{template.name}", set())):
                    errors.append(f"checkov {template} ({label}): {check_id} fails on {resource} and is not "
                                  "skipped with a reason")
            needed = failed.get(f"cfn/unskipped/{i}-{template.name}", set())
            for check_id, resource in sorted(skips[template] - needed):
                errors.append(f"{template}: the skip of {check_id} on {resource} is not needed (checkov passes it)")
        if tf_top is not None:
            tf_failed = {f for name, found in failed.items() if name.startswith("tf/defaults/") for f in found}
            tf_needed = {f for name, found in failed.items() if name.startswith("tf/unskipped/") for f in found}
            # A skip is judged where checkov ran its check (it reports it skipped). checkov's verdicts on resources
            # with count = 0 are erratic (checks skipped yet passing), so a configuration that leaves some of the
            # module out (one front door, as `reweb init` writes) only notes unneeded skips; reweb's own
            # deploy/terraform, whose examples create every resource, must need each one.
            tf_skip_set &= {f for name, found in skipped.items() if name.startswith("tf/defaults/") for f in found}
            strict = (tf_top / "examples").is_dir()
            print(f"validate: Terraform: {len(tf_skip_set)} skip(s) checked"
                  + ("" if strict else f", {len(tf_skip_set - tf_needed)} not needed by this configuration "
                     "(they are where the module's other resources are created)"))
            if not strict:
                tf_skip_set = set()
            for check_id, resource in sorted(tf_failed):
                errors.append(f"checkov {tf_top}: {check_id} fails on {resource} and is not skipped with a reason")
            for check_id, resource in sorted(tf_skip_set - tf_needed):
                errors.append(f"{tf_top}: the skip of {check_id} on {resource} is not needed (checkov passes it)")
        for label, job in jobs:
            done = job.result()
            ok = done.returncode == 0 and (not label.startswith("sam") or "is a valid SAM Template" in done.stdout)
            if not ok:
                errors.append(f"{label} (exit {done.returncode}):\n{done.stdout[-4000:]}{done.stderr[-2000:]}")


def common_top(folders: list[Path]) -> Path:
    return Path(os.path.commonpath([str(f) for f in folders]))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--setup"]:
        setup()
        return 0
    paths = [Path(a).resolve() for a in argv] or [HERE]
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
    check(templates, tf_folders, errors)
    for error in errors:
        print(f"FAIL {error}")
    print(f"validate: {len(templates)} CloudFormation/SAM template(s), {len(tf_folders)} Terraform folder(s): "
          + ("ok" if not errors else f"{len(errors)} problem(s)"))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
