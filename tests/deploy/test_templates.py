"""deploy/ passes its validation (deploy/validate.py: cfn-lint, sam validate --lint, python-hcl2, checkov with every
skip written down and needed), and that validation fails on what it is there to catch."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DEPLOY / "validate.py"), *map(str, paths)], capture_output=True,
                          text=True, timeout=1800, check=False)


def test_deploy_templates_pass() -> None:
    done = validate()
    assert done.returncode == 0, done.stdout + done.stderr
    # Every SAM template and every Terraform folder (the module and its seven examples) was looked at.
    assert sorted(p.name for p in (DEPLOY / "sam").glob("*.yaml")) == [
        "alb.yaml", "function-url.yaml", "http-api.yaml", "lattice.yaml", "rest-api.yaml"]
    assert "5 CloudFormation/SAM template(s), 8 Terraform folder(s): ok" in done.stdout
    # The examples create every resource of the module: each of its 37 Terraform skips was judged needed.
    assert "validate: Terraform: 37 skip(s) checked\n" in done.stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def test_validation_fails_on_each_kind_of_mistake(tmp_path: Path) -> None:
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("validate.py", ".*"))
    sam, module = copy / "sam", copy / "terraform" / "modules" / "reweb"
    # A failing check whose skip is gone; one that fails only with the offload bucket on (a false default).
    edit(sam / "http-api.yaml", "          - id: CKV_AWS_117\n            comment: A public website needs no VPC; put "
         "it in one (VpcConfig) only to reach private resources.\n", "")
    alb = (sam / "alb.yaml").read_text()
    (sam / "alb.yaml").write_text(re.sub(r"          - id: CKV_AWS_21\n            comment: .*\n", "", alb))
    # A skip that is not needed (checkov passes CKV_AWS_45, no hard-coded secret).
    edit(sam / "function-url.yaml", "          - id: CKV_AWS_116\n",
         "          - id: CKV_AWS_45\n            comment: not needed\n          - id: CKV_AWS_116\n")
    # A property CloudFormation does not have.
    edit(sam / "rest-api.yaml", "      MemorySize: !Ref MemorySize\n", "      MemorySise: !Ref MemorySize\n")
    # A value the resource's schema does not allow (VPC Lattice has event structures V1 and V2).
    edit(sam / "lattice.yaml", "LambdaEventStructureVersion: V2\n", "LambdaEventStructureVersion: V3\n")
    # Terraform: a skip removed, a needless one added, a file that does not parse.
    edit(module / "main.tf", "  #checkov:skip=CKV_AWS_50:", "  #not-a-skip CKV_AWS_50:")
    edit(module / "main.tf", "resource \"aws_lambda_function\" \"this\" {\n",
         "resource \"aws_lambda_function\" \"this\" {\n  #checkov:skip=CKV_AWS_45:a reason\n")
    (copy / "terraform" / "examples" / "http-api" / "broken.tf").write_text('resource "aws_s3_bucket" "b" {\n')

    done = validate(copy)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert f"checkov {sam / 'http-api.yaml'} (defaults): CKV_AWS_117 fails on Function" in out
    assert f"checkov {sam / 'alb.yaml'} (every option on): CKV_AWS_21 fails on Offload" in out
    assert f"checkov {sam / 'alb.yaml'} (defaults): CKV_AWS_21" not in out  # the bucket is off by default
    assert f"{sam / 'function-url.yaml'}: the skip of CKV_AWS_45 on Function is not needed" in out
    assert re.search(r"E3002 .*MemorySise", out), out  # cfn-lint: additional property
    assert f"sam validate --lint --region us-east-1 -t {sam / 'rest-api.yaml'} (exit 1)" in out
    assert re.search(r"E3030 'V3' is not one of \['V1', 'V2'\]", out), out
    assert f"sam validate --lint --region us-east-1 -t {sam / 'lattice.yaml'} (exit 1)" in out
    assert "CKV_AWS_50 fails on aws_lambda_function.this and is not skipped" in out
    assert "the skip of CKV_AWS_45 on aws_lambda_function.this is not needed" in out
    assert f"python-hcl2 (parse) (exit 1):\n{copy / 'terraform' / 'examples' / 'http-api' / 'broken.tf'}: " in out
    # Nothing else was reported: each mistake above once (CKV_AWS_117 in both scans of http-api.yaml; cfn-lint's
    # two findings in its one run).
    assert out.count("FAIL ") == 10, out


def blocks(text: str, section: str) -> dict[str, str]:
    """Each entry of a top-level section (Parameters, Resources) as its text, by name."""
    body = text.split(f"\n{section}:\n", 1)[1]
    body = re.split(r"\n(?=\S)", body, maxsplit=1)[0]  # up to the next top-level key
    return {m.group(1): m.group(0) for m in re.finditer(r"^  (\w+):\n(?:(?:    .*)?\n)*", body + "\n", re.M)}


def test_the_five_templates_share_the_same_function_pieces() -> None:
    """Written five times, kept identical: what is not about the front door is the same in every template."""
    texts = {p.name: p.read_text() for p in sorted((DEPLOY / "sam").glob("*.yaml"))}
    shared_parameters = ["ImageUri", "Architecture", "MemorySize", "AppPort", "WaitPath", "LogRetentionDays",
                         "ReservedConcurrency", "OffloadBucket", "OffloadExpirationDays", "SsmParameterArns",
                         "SecretArns", "KmsKeyArn"]
    shared_resources = ["Logs", "Role", "Offload", "OffloadPolicy"]
    reference = texts["function-url.yaml"]
    for name, text in texts.items():
        for section, names in (("Parameters", shared_parameters), ("Resources", shared_resources)):
            mine, theirs = blocks(text, section), blocks(reference, section)
            for entry in names:
                assert mine[entry].rstrip() == theirs[entry].rstrip(), f"{name}: {section}.{entry} differs"
        function = blocks(text, "Resources")["Function"]
        for line in ("      ImageUri: !Ref ImageUri", "      Role: !GetAtt Role.Arn", "        LogFormat: JSON",
                     "          REWEB_OFFLOAD_BUCKET: !If [Offload, !Ref Offload, !Ref AWS::NoValue]"):
            assert line in function.splitlines(), (name, line)
