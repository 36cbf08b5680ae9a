"""`reweb init`, run for real: the app is started under `reweb local`, the folder written, then validated with the
same tools as deploy/ (cfn-lint, sam validate --lint, python-hcl2, checkov), and once built with Docker and served
under the Lambda RIE. Bad input leaves nothing behind and says why in one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

# The image helpers and the reweb_image fixture of tests/images (prepare.sh: docker.io, dockerd, the base image
# debian:bookworm-slim from debootstrap; dist/ and reweb:latest), reused rather than copied.
from tests.images.test_images import (
    body_bytes,
    build,
    check,
    event,
    function,
    image_files,
    reweb_image,  # noqa: F401 - a fixture, used below by name
)

APP = ["python3", "-m", "http.server", "8080", "--bind", "127.0.0.1", "-d", "www"]
PAGE = "<!doctype html><title>reweb init</title><p>written by reweb init, served by python3 -m http.server</p>\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An app's folder: a static site served by the standard library's http.server."""
    folder = tmp_path / "my-site"
    (folder / "www").mkdir(parents=True)
    (folder / "www" / "index.html").write_text(PAGE)
    return folder


def init(cwd: Path, *args: str, command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "reweb", "init", *args, "--", *(APP if command is None else command)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REWEB_", "AWS_LWA_"))}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, env=env, check=False)


def validate(*folders: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "validate.py"), *map(str, folders)],
                          capture_output=True, text=True, timeout=1800, check=False)


def default_of(template: str, parameter: str) -> str:
    found = re.search(rf"^  {parameter}:\n(?:    .*\n)*?    Default: (.*)$", template, re.M)
    assert found, parameter
    return found.group(1)


# -- written folders validate --------------------------------------------------------------------------------

def test_every_front_door_writes_a_folder_that_validates(project: Path) -> None:
    cases: list[tuple[str, list[str]]] = [
        ("url", ["--front-door", "function-url", "--stream", "--memory", "2048", "--timeout", "120", "--offload",
                 "--secret", "DB_PASSWORD=ssm:arn:aws:ssm:us-east-1:123456789012:parameter/my-site/db"]),
        ("http", ["--front-door", "http-api", "--env", "GREETING=hello $USER"]),
        ("rest", ["--front-door", "rest-api", "--arch", "arm64"]),
        ("alb", ["--front-door", "alb-multi", "--port", "8080"]),
        ("tf", ["--front-door", "alb", "--iac", "terraform", "--memory", "512", "--secret",
                "API_KEY=secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf#key"]),
        ("lattice", ["--front-door", "lattice", "--timeout", "120", "--offload"]),
        ("tf-lattice", ["--front-door", "vpc-lattice", "--iac", "terraform", "--timeout", "120"]),
    ]
    notes: dict[str, str] = {}
    for folder, args in cases:
        done = init(project, "--dir", folder, *args)
        assert done.returncode == 0, done.stderr
        assert f"wrote {folder}/Dockerfile" in done.stdout
        notes[folder] = done.stderr

    url = (project / "url" / "template.yaml").read_text()
    assert default_of(url, "Streaming") == '"true"'
    assert default_of(url, "MemorySize") == "2048" and default_of(url, "Timeout") == "120"
    assert default_of(url, "OffloadBucket") == '"true"'
    assert default_of(url, "SsmParameterArns") == '"arn:aws:ssm:us-east-1:123456789012:parameter/my-site/db"'
    dockerfile = (project / "url" / "Dockerfile").read_text()
    assert 'ENV REWEB_SECRET_DB_PASSWORD="ssm:arn:aws:ssm:us-east-1:123456789012:parameter/my-site/db"' in dockerfile
    assert 'ENV REWEB_INVOKE_MODE="response_stream"' in dockerfile
    entrypoint = json.loads(dockerfile.split("ENTRYPOINT ", 1)[1])
    assert entrypoint == ["reweb", "--", *APP]
    assert "COPY --from=reweb /reweb /usr/local/bin/reweb" in dockerfile
    assert "FROM python:3.12-slim" in dockerfile  # inferred from `python3`
    # reweb reaches SSM and S3 over TLS: the CA bundle comes with it (apt works in the Debian-based python image).
    assert "apt-get install -y --no-install-recommends ca-certificates " in dockerfile
    assert "ca-certificates" not in (project / "http" / "Dockerfile").read_text()  # no secret, no offload there
    # Behind API Gateway the timeout is 29 s unless given; a $ stays literal in a Dockerfile ENV.
    assert default_of((project / "http" / "template.yaml").read_text(), "Timeout") == "29"
    assert 'ENV GREETING="hello \\$USER"' in (project / "http" / "Dockerfile").read_text()
    assert default_of((project / "rest" / "template.yaml").read_text(), "Architecture") == "arm64"
    assert default_of((project / "alb" / "template.yaml").read_text(), "MultiValueHeaders") == '"true"'
    main_tf = (project / "tf" / "main.tf").read_text()
    assert re.search(r'front_door\s+= "alb"', main_tf) and re.search(r"memory_size\s+= 512", main_tf)
    assert re.search(r"alb_multi_value_headers\s+= false", main_tf)
    assert 'secret_arns             = ["arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf"]' in main_tf
    # The module is deploy/'s, byte for byte (where each of its checkov skips is shown to be needed).
    module = {p.name: p.read_text() for p in (project / "tf" / "modules" / "reweb").glob("*.tf")}
    assert module == {p.name: p.read_text() for p in (ROOT / "deploy" / "terraform" / "modules" / "reweb").glob("*.tf")}
    # VPC Lattice: checked under `reweb local --source lattice`; the service's idle timeout follows --timeout in
    # SAM, and Terraform (which leaves it at 60 s) says so.
    lattice = (project / "lattice" / "template.yaml").read_text()
    assert default_of(lattice, "Timeout") == "120" and default_of(lattice, "IdleTimeout") == "120"
    assert default_of(lattice, "OffloadBucket") == '"true"'
    lattice_readme = (project / "lattice" / "README.md").read_text()
    assert "--parameter-overrides ImageUri=$IMAGE VpcId=vpc-..." in lattice_readme
    assert "reweb local --port 3000 --source lattice --app-port 8080" in lattice_readme
    assert 'curl --aws-sigv4 "aws:amz:$REGION:vpc-lattice-svcs"' in lattice_readme
    lattice_tf = (project / "tf-lattice" / "main.tf").read_text()
    assert re.search(r'front_door\s+= "lattice"', lattice_tf) and re.search(r"vpc_id\s+= var.vpc_id", lattice_tf)
    assert "idle timeout at its default, 60 s: raise it to 120 s" in notes["tf-lattice"]
    tf_readme = (project / "tf-lattice" / "README.md").read_text()
    assert "terraform apply -var image_uri=$IMAGE -var vpc_id=vpc-..." in tf_readme
    readme = (project / "url" / "README.md").read_text()
    assert "docker build -f url/Dockerfile -t my-site ." in readme
    assert "aws cloudformation deploy --template-file url/template.yaml --stack-name my-site" in readme
    assert "--parameter-overrides ImageUri=$IMAGE" in readme

    done = validate(*(project / folder for folder, _ in cases))
    assert done.returncode == 0, done.stdout + done.stderr
    # tf/ and tf-lattice/, each with its module
    assert "5 CloudFormation/SAM template(s), 4 Terraform folder(s): ok" in done.stdout


# -- idempotence -----------------------------------------------------------------------------------------------

def test_a_second_run_keeps_edits_unless_forced(project: Path) -> None:
    first = init(project, "--front-door", "http-api")
    assert first.returncode == 0, first.stderr
    written = {p: p.read_text() for p in (project / "reweb-deploy").rglob("*") if p.is_file()}
    assert {p.name for p in written} == {"Dockerfile", "Dockerfile.dockerignore", "template.yaml", "README.md"}

    again = init(project, "--front-door", "http-api")
    assert again.returncode == 0, again.stderr
    assert "reweb-deploy is up to date" in again.stdout
    assert {p: p.read_text() for p in written} == written

    dockerfile = project / "reweb-deploy" / "Dockerfile"
    edited = dockerfile.read_text().replace("WORKDIR /app", "WORKDIR /app\nRUN echo my own step")
    dockerfile.write_text(edited)
    kept = init(project, "--front-door", "http-api", "--memory", "2048")  # also differs in template.yaml
    assert kept.returncode != 0
    assert kept.stderr.count("\n") == 1 and kept.stderr.startswith("reweb init: ")
    assert "--force" in kept.stderr and "Dockerfile" in kept.stderr and "template.yaml" in kept.stderr
    assert dockerfile.read_text() == edited  # nothing touched, not even the file that was not edited
    assert (project / "reweb-deploy" / "template.yaml").read_text() == written[project / "reweb-deploy" /
                                                                                "template.yaml"]

    forced = init(project, "--front-door", "http-api", "--memory", "2048", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "my own step" not in dockerfile.read_text()
    assert default_of((project / "reweb-deploy" / "template.yaml").read_text(), "MemorySize") == "2048"
    assert not [p for p in (project / "reweb-deploy").iterdir() if p.name.startswith(".")]  # no leftovers


# -- bad input: one line, non-zero, nothing written -----------------------------------------------------------

BAD = {
    "the app does not start": (["--front-door", "http-api"], ["/nonexistent/app", "--serve"],
                               "the app does not start under reweb local: Runtime.AppStartError"),
    "the app exits": (["--front-door", "rest"], ["python3", "-c", "import sys; print('no config'); sys.exit(3)"],
                      "exited with status 3"),
    "another port": (["--front-door", "function-url"], ["python3", "-m", "http.server", "9999", "--bind",
                                                        "127.0.0.1"],
                     "does not open port 8080: it listens on 9999 (give --port 9999"),
    "no port at all": (["--front-door", "alb", "--port", "8081"], ["python3", "-c", "import time; time.sleep(60)"],
                       "did not answer on port 8081"),
    "unknown front door": (["--front-door", "cloudfront"], APP,
                           "unknown front door 'cloudfront': choose one of function-url, http-api, rest-api"),
    "streaming through an API": (["--front-door", "http-api", "--stream"], APP,
                                 "--stream: the templates stream through a Function URL only"),
    "longer than Lattice waits": (["--front-door", "lattice", "--timeout", "900"], APP,
                                  "--timeout: VPC Lattice cuts a request after at most 600 s"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_writes_nothing(project: Path, case: str) -> None:
    args, command, message = BAD[case]
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    done = init(project, *args, command=command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("reweb init: "), done.stderr
    assert message in done.stderr, done.stderr
    assert done.stdout == ""
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before  # nothing written, no temp file
    assert not (project / "reweb-deploy").exists()


# -- the written Dockerfile builds and serves under the RIE ---------------------------------------------------

@pytest.mark.integration
@pytest.mark.timeout(1800)
@pytest.mark.usefixtures("reweb_image")  # reweb:latest, which the Dockerfile's COPY --from=reweb names
def test_the_written_dockerfile_builds_and_serves_under_the_rie(project: Path) -> None:
    # debian:bookworm-slim is the debootstrap image tests/images/prepare.sh makes (no registry here); init adds
    # Debian's python3 for the `python3` command, and reweb by its one-line COPY from reweb:latest.
    done = init(project, "--front-door", "http-api", "--base", "debian:bookworm-slim", "--name", "init-e2e")
    assert done.returncode == 0, done.stderr
    dockerfile = (project / "reweb-deploy" / "Dockerfile").read_text()
    assert "apt-get install -y --no-install-recommends python3 " in dockerfile
    tag = "reweb-test/init-e2e:latest"
    build(tag, project, "-f", str(project / "reweb-deploy" / "Dockerfile"))
    files = image_files(tag)
    assert "app/www/index.html" in files and "app/reweb-deploy/Dockerfile" not in files  # its .dockerignore
    with function(tag) as fn:
        result: dict[str, Any] = fn.invoke(event("golang-http-v2-no-authorizer-curl.json"))
        headers = check(result, fn, 200)
        assert headers["content-type"] == "text/html"
        assert body_bytes(result).decode() == PAGE
        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json", "/missing.html"))
        check(result, fn, 404)

