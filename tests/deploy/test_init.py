"""`reweb init`, run for real: the app is started under `reweb local`, the folder written, then validated with the
same tools as deploy/ (cfn-lint, sam validate --lint, python-hcl2, checkov), and once built with Docker and served
under the Lambda RIE. Bad input leaves nothing behind and says why in one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from reweb.scaffold import build_wheel
from tests.conftest import ROOT

# The image helpers and the reweb_image fixture of tests/images (prepare.sh: docker.io, dockerd, the base image
# debian:bookworm-slim from debootstrap; dist/ and reweb:latest), reused rather than copied.
from tests.images.test_images import (
    DOCKER,
    REWEB_IMAGE,
    body_bytes,
    build,
    check,
    event,
    file_in_image,
    function,
    image_files,
    reweb_image,  # noqa: F401 - a fixture, used below by name
)
from tests.support.init_project import APP, PAGE, default_of, init, make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def validate(*folders: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "validate.py"), *map(str, folders)],
                          capture_output=True, text=True, timeout=1800, check=False)


# -- written folders validate --------------------------------------------------------------------------------

def test_every_front_door_writes_a_folder_that_validates(project: Path) -> None:
    cases: list[tuple[str, list[str]]] = [
        ("url", ["--front-door", "function-url", "--stream", "--memory", "2048", "--timeout", "120", "--offload",
                 "--secret", "DB_PASSWORD=ssm:arn:aws:ssm:us-east-1:123456789012:parameter/my-site/db"]),
        ("http", ["--front-door", "http-api", "--env", "GREETING=hello $USER"]),
        ("rest", ["--front-door", "rest-api", "--arch", "arm64"]),
        ("alb", ["--front-door", "alb-multi", "--port", "8000"]),
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
    # 8000 by default, not 8080: SAM CLI's `sam local start-api` listens on 8080 inside the container.
    assert default_of(url, "AppPort") == "8000" and 'ENV REWEB_APPLICATION_PORT="8000"' in dockerfile
    assert 'ENV REWEB_SECRET_DB_PASSWORD="ssm:arn:aws:ssm:us-east-1:123456789012:parameter/my-site/db"' in dockerfile
    assert 'ENV REWEB_INVOKE_MODE="response_stream"' in dockerfile
    entrypoint = json.loads(dockerfile.split("ENTRYPOINT ", 1)[1])
    assert entrypoint == ["reweb", "--", *APP]
    assert "COPY --from=reweb /reweb /usr/local/bin/reweb" in dockerfile
    assert "COPY --from=reweb /reweb.cdx.json /usr/share/sbom/reweb.cdx.json" in dockerfile  # its SBOM
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
    assert "reweb local --source lattice --app-port 8000" in lattice_readme
    assert 'curl --aws-sigv4 "aws:amz:$REGION:vpc-lattice-svcs"' in lattice_readme
    lattice_tf = (project / "tf-lattice" / "main.tf").read_text()
    assert re.search(r'front_door\s+= "lattice"', lattice_tf) and re.search(r"vpc_id\s+= var.vpc_id", lattice_tf)
    assert "idle timeout at its default, 60 s: raise it to 120 s" in notes["tf-lattice"]
    tf_readme = (project / "tf-lattice" / "README.md").read_text()
    assert "terraform -chdir=tf-lattice apply -var image_uri=$IMAGE -var vpc_id=vpc-..." in tf_readme
    readme = (project / "url" / "README.md").read_text()
    assert "docker build --platform linux/amd64 --provenance=false -f url/Dockerfile -t my-site ." in readme
    assert "aws cloudformation deploy --template-file url/template.yaml --stack-name my-site" in readme
    assert "--parameter-overrides ImageUri=$IMAGE" in readme

    done = validate(*(project / folder for folder, _ in cases))
    assert done.returncode == 0, done.stdout + done.stderr
    # tf/ and tf-lattice/, each with its module
    assert "5 CloudFormation/SAM template(s), 4 Terraform folder(s): ok" in done.stdout


def test_the_templates_default_app_port_is_not_sam_clis_8080() -> None:
    for path in sorted((ROOT / "deploy" / "sam").glob("*.yaml")):
        assert default_of(path.read_text(), "AppPort") == "8000", path
    variables = (ROOT / "deploy" / "terraform" / "modules" / "reweb" / "variables.tf").read_text()
    assert re.search(r'variable "app_port" \{[^}]*default\s+= 8000\n', variables)


SSM_ARN = "arn:aws:ssm:eu-west-3:123456789012:parameter/my-site/config"
SM_ARN = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:db-AbCdEf"


@pytest.mark.parametrize("iac", ["sam", "terraform"])
def test_a_json_key_is_not_part_of_the_arn(project: Path, iac: str) -> None:
    # `#key` picks one key of a JSON value (reweb's secrets.py); the policy names the parameter or secret itself.
    done = init(project, "--no-check", "--iac", iac, "--secret", f"DB_PASSWORD=ssm:{SSM_ARN}#password",
                "--secret", f"API_KEY=secretsmanager:{SM_ARN}#key")
    assert done.returncode == 0, done.stderr
    dockerfile = (project / "reweb-deploy" / "Dockerfile").read_text()
    assert f'ENV REWEB_SECRET_DB_PASSWORD="ssm:{SSM_ARN}#password"' in dockerfile  # reweb reads the key
    if iac == "sam":
        template = (project / "reweb-deploy" / "template.yaml").read_text()
        assert default_of(template, "SsmParameterArns") == f'"{SSM_ARN}"'
        assert default_of(template, "SecretArns") == f'"{SM_ARN}"'
    else:
        main_tf = (project / "reweb-deploy" / "main.tf").read_text()
        assert re.search(rf'ssm_parameter_arns\s+= \["{SSM_ARN}"\]\n', main_tf), main_tf
        assert re.search(rf'secret_arns\s+= \["{SM_ARN}"\]\n', main_tf), main_tf
    written = "".join(p.read_text() for p in (project / "reweb-deploy").glob("*.[ty]*[lf]"))  # template, main.tf
    assert "#password" not in written and "#key" not in written


# -- --install pip: a wheel built from this checkout, until reweb-lambda is on PyPI ---------------------------

def test_install_pip_writes_a_wheel_of_this_checkout_beside_the_dockerfile(project: Path, tmp_path: Path) -> None:
    from reweb import __version__

    done = init(project, "--no-check", "--install", "pip", "--base", "python:3.12-slim")
    assert done.returncode == 0, done.stderr
    folder = project / "reweb-deploy"
    wheel = f"reweb_lambda-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(folder / wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("reweb/scaffold/plan.py") == (ROOT / "src" / "reweb" / "scaffold" / "plan.py").read_bytes()
    assert {"reweb/__main__.py", "reweb/deploy/sam/http-api.yaml"} <= names
    dockerfile = (folder / "Dockerfile").read_text()
    assert f"COPY reweb-deploy/{wheel} /tmp/\nRUN pip install --no-cache-dir /tmp/{wheel} && rm /tmp/{wheel}\n" \
        in dockerfile and "reweb-lambda" not in dockerfile.split("\n", 3)[3].replace("reweb-lambda is", "")
    ignored = (folder / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignored.index(f"!reweb-deploy/{wheel}") > ignored.index("reweb-deploy")  # back in the build context
    # A second run replaces the wheel without --force (reweb's own file; the checkout may have changed), and
    # the build is reproducible: the same sources give the same bytes, so an unchanged checkout is up to date.
    again = init(project, "--no-check", "--install", "pip", "--base", "python:3.12-slim")
    assert again.returncode == 0, again.stderr
    assert "reweb-deploy is up to date" in again.stdout or f"wrote reweb-deploy/{wheel}\n" in again.stdout
    frozen = tmp_path / "reweb"
    frozen.mkdir()
    for name in ("pyproject.toml", "README.md", "src", "deploy"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, frozen / name)
    assert build_wheel(frozen) == build_wheel(frozen)
    # --wheel: that file, as it is.
    given = tmp_path / wheel
    given.write_bytes(b"PK not really a wheel")
    done = init(project, "--no-check", "--install", "pip", "--wheel", str(given), "--dir", "given")
    assert done.returncode == 0, done.stderr
    assert (project / "given" / wheel).read_bytes() == b"PK not really a wheel"


# -- symbolic links: never written through ---------------------------------------------------------------------

def test_a_planted_link_is_never_written_through(project: Path, tmp_path: Path) -> None:
    first = init(project, "--no-check", "--front-door", "http-api")
    assert first.returncode == 0, first.stderr
    folder = project / "reweb-deploy"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not reweb's\n")
    # The name the previous version wrote through: a link planted there is left alone, never followed.
    (folder / "Dockerfile").unlink()
    (folder / ".Dockerfile.reweb-init").symlink_to(elsewhere)
    again = init(project, "--no-check", "--front-door", "http-api")
    assert again.returncode == 0, again.stderr
    assert elsewhere.read_text() == "not reweb's\n"
    assert not (folder / "Dockerfile").is_symlink() and "ENTRYPOINT" in (folder / "Dockerfile").read_text()
    (folder / ".Dockerfile.reweb-init").unlink()

    # A written file that is a link: refused in one line, even with --force; the link and its target kept.
    (folder / "README.md").unlink()
    (folder / "README.md").symlink_to(elsewhere)
    for force in ([], ["--force"]):
        refused = init(project, "--no-check", "--front-door", "http-api", "--memory", "2048", *force)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.count("\n") == 1 and "reweb-deploy/README.md is a symbolic link" in refused.stderr
        assert elsewhere.read_text() == "not reweb's\n" and (folder / "README.md").is_symlink()
        assert default_of((folder / "template.yaml").read_text(), "MemorySize") == "1024"  # nothing written

    # The folder, or a folder in it, is a link.
    target = tmp_path / "target"
    target.mkdir()
    (project / "linked").symlink_to(target)
    refused = init(project, "--no-check", "--dir", "linked")
    assert refused.returncode == 2 and "linked is a symbolic link" in refused.stderr, refused.stderr
    tf = project / "tf"
    (tf / "modules").mkdir(parents=True)
    (tf / "modules" / "reweb").symlink_to(target, target_is_directory=True)
    refused = init(project, "--no-check", "--dir", "tf", "--iac", "terraform")
    assert refused.returncode == 2 and "tf/modules/reweb is a symbolic link" in refused.stderr, refused.stderr
    assert list(target.iterdir()) == [] and list(tf.iterdir()) == [tf / "modules"]


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
                     "does not open port 8000: it listens on 9999 (give --port 9999"),
    "no port at all": (["--front-door", "alb", "--port", "8081"], ["python3", "-c", "import time; time.sleep(60)"],
                       "did not answer on port 8081"),
    "unknown front door": (["--front-door", "cloudfront"], APP,
                           "unknown front door 'cloudfront': choose one of function-url, http-api, rest-api"),
    "streaming through an API": (["--front-door", "http-api", "--stream"], APP,
                                 "--stream: the templates stream through a Function URL or a REST API only"),
    "a control character in --env": (["--env", "GREETING=hello\nRUN rm -rf /"], APP,
                                     "--env GREETING: control characters (here U+000A) cannot be written"),
    "an escape in --env": (["--env", "COLOR=\x1b[31m"], APP,
                           "--env COLOR: control characters (here U+001B) cannot be written"),
    "longer than Lattice waits": (["--front-door", "lattice", "--timeout", "900"], APP,
                                  "--timeout: VPC Lattice cuts a request after at most 600 s"),
    # The flag is the one source (the Dockerfile, the template's parameter and the check), whatever the name.
    "the wait path by --env": (["--wait-path", "/healthz", "--env", "AWS_LWA_READINESS_CHECK_PATH=/ready"], APP,
                               "--env AWS_LWA_READINESS_CHECK_PATH: reweb init sets REWEB_WAIT_PATH from its flag "
                               "--wait-path"),
    "the port by --env": (["--no-check", "--env", "PORT=9000"], APP, "use --port instead"),
    # Without the check too, as the adapter refuses it (config.parse_path).
    "a bad wait path without the check": (["--no-check", "--wait-path", "/ready\tnow"], APP,
                                          "--wait-path must not hold control characters"),
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

# Values that JSON-style escaping got wrong (BuildKit reads `\u00e9` literally), with the Dockerfile lexer's own
# specials (", $, \ and a backquote) and characters Unicode calls spaces or separators.
ENV_VALUES = {"CAFE": "Café ☕ naïve 日本", "QUOTED": 'say "hi" \\ to $HOME, ${USER} and `id` \'n\' \\u00e9',
              "SPACES": "  two  spaces\u00a0", "SEPARATOR": "a\u2028b\u2029c", "TRAILING": "back\\"}


def docker(*args: str) -> bytes:
    done = subprocess.run([DOCKER, *args], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.mark.integration
@pytest.mark.timeout(1800)
@pytest.mark.usefixtures("reweb_image")  # reweb:latest, which the Dockerfile's COPY --from=reweb names
def test_the_written_dockerfile_builds_and_serves_under_the_rie(project: Path) -> None:
    # debian:bookworm-slim is the debootstrap image tests/images/prepare.sh makes (no registry here); init adds
    # Debian's python3 for the `python3` command, and reweb (with its SBOM) by COPY from reweb:latest.
    done = init(project, "--front-door", "http-api", "--base", "debian:bookworm-slim", "--name", "init-e2e")
    assert done.returncode == 0, done.stderr
    dockerfile = (project / "reweb-deploy" / "Dockerfile").read_text()
    assert "apt-get install -y --no-install-recommends python3 " in dockerfile
    tag = "reweb-test/init-e2e:latest"
    build(tag, project, "-f", str(project / "reweb-deploy" / "Dockerfile"))
    files = image_files(tag)
    assert "app/www/index.html" in files and "app/reweb-deploy/Dockerfile" not in files  # its .dockerignore
    # reweb and its SBOM, as reweb's image holds them: the SBOM where scanners find it (any *.cdx.json).
    assert file_in_image(tag, "/usr/local/bin/reweb") == file_in_image(REWEB_IMAGE, "/reweb")
    sbom = file_in_image(tag, "/usr/share/sbom/reweb.cdx.json")
    assert sbom == file_in_image(REWEB_IMAGE, "/reweb.cdx.json")
    assert json.loads(sbom)["bomFormat"] == "CycloneDX"
    with function(tag) as fn:
        result: dict[str, Any] = fn.invoke(event("golang-http-v2-no-authorizer-curl.json"))
        headers = check(result, fn, 200)
        assert headers["content-type"] == "text/html"
        assert body_bytes(result).decode() == PAGE
        result = fn.invoke(event("golang-http-v2-no-authorizer-curl.json", "/missing.html"))
        check(result, fn, 404)



@pytest.fixture(scope="module")
def docker_ready() -> None:
    """Docker and the debootstrap base image (tests/images/prepare.sh), without reweb's own image."""
    prepared = subprocess.run(["bash", str(ROOT / "tests" / "images" / "prepare.sh")], capture_output=True,
                              text=True, timeout=1700, check=False)
    if prepared.returncode != 0:
        if os.geteuid() != 0 and os.environ.get("REWEB_REQUIRE_APPS", "") in ("", "0"):
            pytest.skip("no docker here (prepare.sh needs root the first time)")
        pytest.fail(f"tests/images/prepare.sh failed:\n{prepared.stderr[-3000:]}")


@pytest.mark.integration
@pytest.mark.timeout(1800)
@pytest.mark.usefixtures("docker_ready")
def test_install_pip_builds_and_serves_under_the_rie(project: Path, tmp_path: Path) -> None:
    # A Python image with pip, as python:3.12-slim would be (no registry here): Debian's python3 in a venv.
    base = tmp_path / "base"
    base.mkdir()
    (base / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3-venv && "
        "rm -rf /var/lib/apt/lists/* && python3 -m venv /opt/python\n"
        "ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        # This machine's CA bundle for pip (PyPI may be behind a TLS proxy here; apt rewrote the base's bundle).
        "COPY host-ca.crt /etc/host-ca.crt\nENV PIP_CERT=/etc/host-ca.crt\n")
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", base / "host-ca.crt")
    build("reweb-test/python-pip:latest", base)
    done = init(project, "--front-door", "http-api", "--install", "pip", "--base", "reweb-test/python-pip:latest",
                "--name", "init-pip", *(f"--env={name}={value}" for name, value in ENV_VALUES.items()))
    assert done.returncode == 0, done.stderr
    tag = "reweb-test/init-pip:latest"
    build(tag, project, "-f", str(project / "reweb-deploy" / "Dockerfile"))
    # Each --env value is what BuildKit's lexer makes of the written ENV line: read inside the image, exactly.
    listed = docker("run", "--rm", "--entrypoint", "/usr/bin/env", tag, "-0")
    inside = dict(item.decode().partition("=")[::2] for item in listed.split(b"\0") if item)
    assert {name: inside.get(name) for name in ENV_VALUES} == ENV_VALUES
    with function(tag) as fn:
        result: dict[str, Any] = fn.invoke(event("golang-http-v2-no-authorizer-curl.json"))
        check(result, fn, 200)
        assert body_bytes(result).decode() == PAGE
