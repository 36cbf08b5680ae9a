"""The README that `reweb init` writes, run: every command of its deploy block, in order, in one `bash -euo
pipefail`, with `aws`, `terraform`, `sam` and the registry side of `docker` replaced by tests/deploy/readme_shim.py
(which records each call and answers as AWS would: no AWS account here). `reweb local` is the real emulator,
`docker build` the real Docker in the integration test. The recorded calls are checked against the template the
same run wrote: the region, the ECR URI, the platform against its Architecture, the parameters and variables."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.images.test_images import DOCKER, reweb_image  # noqa: F401 - reweb_image is a fixture
from tests.support.init_project import PAGE, default_of, init, make_project

HERE = Path(__file__).resolve().parent
ACCOUNT = "123456789012"
PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def commands(readme: str) -> list[str]:
    """The deploy block's commands: comments dropped, continued lines joined."""
    block = readme.split("```bash\n", 1)[1].split("\n```", 1)[0]
    joined = re.sub(r"\\\n\s*", "", block)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def run_readme(project: Path, tmp_path: Path, env: dict[str, str], real_docker: bool = False
               ) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    shims = tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    for tool in ("aws", "terraform", "sam", "docker", "reweb"):
        (shims / tool).write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "readme_shim.py"} {tool} "$@"\n')
        (shims / tool).chmod(0o755)
    log = tmp_path / "calls.jsonl"
    log.unlink(missing_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local_port = s.getsockname()[1]
    script = "\n".join(["set -euo pipefail", *commands((project / "reweb-deploy" / "README.md").read_text())])
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "REWEB_")) and k not in ("PATH", "PYTHONPATH")}
    full_env = {**base, "PATH": f"{shims}:{os.environ['PATH']}", "SHIM_LOG": str(log),
                "REWEB_LOCAL_PORT": str(local_port), "REWEB_LOCAL_DASHBOARD": "off",
                "PYTHONPATH": os.pathsep.join([str(HERE.parent.parent / "src"), os.environ.get("PYTHONPATH", "")]),
                **({"SHIM_REAL_DOCKER": DOCKER, "DOCKER_BUILDKIT": "1"} if real_docker else {}), **env}
    done = subprocess.run(["bash", "-c", script], cwd=project, env=full_env, capture_output=True, text=True,
                          timeout=1500, check=False)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, calls


def parameters(template: str) -> dict[str, bool]:
    """The template's parameters: name -> whether it has a default."""
    section = template.split("\nParameters:\n", 1)[1]
    section = re.split(r"\n(?=\S)", section, maxsplit=1)[0]
    names = re.findall(r"^  (\w+):\n", section, re.M)
    return {name: bool(re.search(rf"^  {name}:\n(?:    .*\n)*?    Default:", section + "\n", re.M)) for name in names}


def check_build_and_push(calls: list[dict[str, Any]], name: str, arch: str, region: str) -> str:
    """The calls up to the push: the image built for the template's architecture, pushed to ECR in `region`."""
    registry = f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com"
    image = f"{registry}/{name}:v1"
    build = calls[0]
    assert build["tool"] == "docker" and build["args"][0] == "build", calls
    assert f"--platform={PLATFORMS[arch]}" in build["args"] or (
        "--platform" in build["args"] and build["args"][build["args"].index("--platform") + 1] == PLATFORMS[arch])
    assert "--provenance=false" in build["args"]  # Lambda refuses an image index with attestations
    assert build["args"][-3:] == ["-t", name, "."] and build["status"] == 0
    local = calls[1]
    assert local["tool"] == "reweb" and local["args"][0] == "local", calls
    assert local["answer"] == {"status": 200, "body": PAGE}  # the app behind the emulated front door
    aws = [call for call in calls if call["tool"] == "aws" and call["args"][0] != "configure"]
    assert all(call["region"] == region for call in aws), aws  # every AWS call in the region of the URI
    assert aws[0]["args"][:2] == ["sts", "get-caller-identity"]
    assert any(call["args"][:2] == ["ecr", "create-repository"] and call["args"][2:4] == ["--repository-name", name]
               for call in aws)
    login = next(call for call in calls if call["tool"] == "docker" and call["args"][0] == "login")
    assert login["args"][-1] == registry and login["stdin"].strip() == "fake-ecr-password"
    docker = [call["args"] for call in calls if call["tool"] == "docker"]
    assert ["tag", name, image] in docker and ["push", image] in docker
    return image


def test_the_sam_readme_runs_in_order_and_matches_its_template(project: Path, tmp_path: Path) -> None:
    done = init(project, "--front-door", "http-api", "--arch", "arm64", "--name", "readme-sam")
    assert done.returncode == 0, done.stderr
    ran, calls = run_readme(project, tmp_path, {"AWS_REGION": "eu-west-3"})
    assert ran.returncode == 0, ran.stderr + json.dumps(calls, indent=1)
    template = (project / "reweb-deploy" / "template.yaml").read_text()
    arch = default_of(template, "Architecture")
    assert arch == "arm64"
    image = check_build_and_push(calls, "readme-sam", arch, "eu-west-3")
    deploy = next(call["args"] for call in calls if call["args"][:2] == ["cloudformation", "deploy"])
    assert deploy[deploy.index("--template-file") + 1] == "reweb-deploy/template.yaml"
    overrides = dict(item.split("=", 1) for item in deploy[deploy.index("--parameter-overrides") + 1:])
    assert overrides["ImageUri"] == image
    declared = parameters(template)
    assert set(overrides) <= set(declared) and {n for n, has in declared.items() if not has} <= set(overrides)
    assert [call["args"][:2] for call in calls if call["tool"] == "aws"][-2:] == [
        ["cloudformation", "describe-stacks"], ["cloudformation", "delete-stack"]]


def test_the_terraform_readme_runs_in_order_and_matches_its_variables(project: Path, tmp_path: Path) -> None:
    done = init(project, "--front-door", "alb", "--iac", "terraform", "--name", "readme-tf")
    assert done.returncode == 0, done.stderr
    # The region from AWS_DEFAULT_REGION when AWS_REGION is not set (the CLI's own order).
    ran, calls = run_readme(project, tmp_path, {"AWS_DEFAULT_REGION": "ap-southeast-2"})
    assert ran.returncode == 0, ran.stderr + json.dumps(calls, indent=1)
    image = check_build_and_push(calls, "readme-tf", "x86_64", "ap-southeast-2")
    terraform = [call for call in calls if call["tool"] == "terraform"]
    assert [next(a for a in call["args"] if not a.startswith("-")) for call in terraform] == [
        "init", "apply", "output", "destroy"]
    main_tf = (project / "reweb-deploy" / "main.tf").read_text()
    declared = set(re.findall(r'^variable "(\w+)"', main_tf, re.M))
    for call in terraform:
        # each run in the folder with main.tf, whichever way the README gets there
        chdir = [a.split("=", 1)[1] for a in call["args"] if a.startswith("-chdir=")]
        folder = Path(call["cwd"], *chdir)
        assert (folder / "main.tf").read_text() == main_tf and call["region"] == "ap-southeast-2"
        given = [call["args"][i + 1].split("=", 1) for i, a in enumerate(call["args"]) if a == "-var"]
        assert {k for k, _ in given} <= declared
        if {"apply", "destroy"} & set(call["args"]):
            assert dict(given)["image_uri"] == image and {"vpc_id", "subnet_ids"} <= {k for k, _ in given}


def test_the_readme_stops_clearly_without_a_region(project: Path, tmp_path: Path) -> None:
    done = init(project, "--no-check", "--front-door", "function-url", "--name", "readme-region")
    assert done.returncode == 0, done.stderr
    ran, calls = run_readme(project, tmp_path, {})
    assert ran.returncode != 0
    assert "no AWS region" in ran.stderr and "AWS_REGION" in ran.stderr, ran.stderr
    aws = [call["args"][:2] for call in calls if call["tool"] == "aws"]
    assert aws == [["configure", "get"]]  # stopped before any call that needs credentials
    # ...and with the region in the profile only, it is used.
    ran, calls = run_readme(project, tmp_path, {"SHIM_CONFIG_REGION": "sa-east-1"})
    assert ran.returncode == 0, ran.stderr
    check_build_and_push(calls, "readme-region", "x86_64", "sa-east-1")


@pytest.mark.integration
@pytest.mark.timeout(1800)
@pytest.mark.usefixtures("reweb_image")
def test_the_readme_builds_the_image_for_real(project: Path, tmp_path: Path) -> None:
    done = init(project, "--front-door", "function-url", "--base", "debian:bookworm-slim", "--name", "readme-real")
    assert done.returncode == 0, done.stderr
    ran, calls = run_readme(project, tmp_path, {"AWS_REGION": "us-east-1"}, real_docker=True)
    assert ran.returncode == 0, ran.stderr[-6000:] + json.dumps(calls, indent=1)
    check_build_and_push(calls, "readme-real", "x86_64", "us-east-1")
    inspect = subprocess.run([DOCKER, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", "readme-real"],
                             capture_output=True, text=True, timeout=60, check=True)
    assert inspect.stdout.strip() == "linux/amd64"
    subprocess.run([DOCKER, "image", "rm", "readme-real"], capture_output=True, timeout=60, check=False)
