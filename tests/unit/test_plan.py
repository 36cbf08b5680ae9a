"""`reweb init`'s plan (scaffold/plan.py), pure and fast: the command line into a Plan, or a one-line refusal
before anything runs or is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from reweb.config import SPECS
from reweb.scaffold.plan import DEFAULT_PORT, INIT_FLAGS, Plan, ScaffoldError, make_plan, parser

APP = ["python3", "-m", "http.server", "8000"]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "My Site_2"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def plan(*args: str, command: list[str] | None = None) -> Plan:
    return make_plan(parser().parse_args(list(args)), APP if command is None else command)


def test_the_defaults(here: Path) -> None:
    p = plan()
    assert (p.front_door, p.port, p.memory, p.timeout, p.arch, p.iac, p.stream) == \
        ("function-url", DEFAULT_PORT, 1024, 30, "x86_64", "sam", False)
    assert p.name == "my-site-2"  # the folder's name, as ALB and ECR accept it
    assert (p.context, p.out) == (here, here / "reweb-deploy")
    assert (p.base, p.install, p.apt, p.notes) == ("python:3.12-slim", "copy", [], [])
    assert p.door.template == "function-url.yaml"


@pytest.mark.parametrize(("door", "stream", "timeout"), [
    ("http-api", False, 29), ("rest-api", False, 29), ("rest-api", True, 30), ("function-url", True, 30),
    ("alb", False, 30), ("lattice", False, 30)])
def test_the_timeout_default_follows_the_front_door(here: Path, door: str, stream: bool, timeout: int) -> None:
    """API Gateway gives up at 29 s (a buffered REST or HTTP API): a longer function timeout is never used."""
    assert plan("--front-door", door, *(["--stream"] if stream else [])).timeout == timeout
    assert plan("--front-door", door, "--timeout", "45").timeout == 45


@pytest.mark.parametrize(("command", "base"), [
    (["gunicorn", "app:app"], "python:3.12-slim"), (["python3.12", "app.py"], "python:3.12-slim"),
    (["node", "server.js"], "node:22-slim"), (["php", "-S", "127.0.0.1:8000"], "php:8.3-cli"),
    (["bundle", "exec", "puma"], "ruby:3.3-slim"), (["java", "-jar", "app.jar"], "eclipse-temurin:21-jre"),
    (["/usr/local/bin/caddy", "run"], "debian:bookworm-slim")])
def test_the_base_image_comes_from_the_command(here: Path, command: list[str], base: str) -> None:
    assert plan(command=command).base == base


def test_a_debian_base_gets_the_interpreter_the_command_runs(here: Path) -> None:
    p = plan("--base", "debian:bookworm-slim", "--apt", "curl", command=["python3", "app.py"])
    assert p.apt == ["python3", "curl"]
    assert plan("--base", "ubuntu:24.04", command=["node", "s.js"]).apt == ["nodejs"]


def test_secrets_and_offload_bring_the_ca_bundle_where_apt_works(here: Path) -> None:
    assert plan("--offload").apt == ["ca-certificates"]
    assert plan("--secret", "DB=ssm:arn:aws:ssm:us-east-1:123456789012:parameter/db").apt == ["ca-certificates"]
    alpine = plan("--offload", "--base", "python:3.12-alpine")
    assert alpine.apt == [] and any("CA bundle" in note for note in alpine.notes)


def test_a_secret_by_name_notes_the_arn_it_needs(here: Path) -> None:
    p = plan("--secret", "DB=ssm:/my-site/db", "--env", "GREETING=hello world")
    assert (p.secrets, p.env) == ({"DB": "ssm:/my-site/db"}, {"GREETING": "hello world"})
    assert any("SsmParameterArns" in note for note in p.notes)
    assert not plan("--secret", "DB=ssm:arn:aws:ssm:us-east-1:123456789012:parameter/db").notes


def test_lattice_under_terraform_past_its_idle_timeout_is_a_note(here: Path) -> None:
    assert any("idle timeout" in note for note in plan("--front-door", "lattice", "--iac", "terraform",
                                                            "--timeout", "120").notes)
    assert not plan("--front-door", "lattice", "--timeout", "120").notes  # the SAM template raises it itself


def test_install_pip_with_a_given_wheel(here: Path) -> None:
    wheel = here / "reweb_lambda-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    p = plan("--install", "pip", "--wheel", str(wheel))
    assert (p.install, p.wheel) == ("pip", wheel)


BAD = {
    "no command": ([], [], "no app command"),
    "unknown front door": (["--front-door", "cloudfront"], APP,
                           "unknown front door 'cloudfront': choose one of function-url, http-api, rest-api, alb, "
                           "alb-multi, lattice"),
    "streaming through an ALB": (["--front-door", "alb", "--stream"], APP, "--stream: the templates stream"),
    "a privileged port": (["--port", "80"], APP, "--port must be 1025-65535"),
    "too little memory": (["--memory", "64"], APP, "--memory must be 128-10240 MB"),
    "too long": (["--timeout", "901"], APP, "--timeout must be 1-900 seconds"),
    "longer than Lattice waits": (["--front-door", "lattice", "--timeout", "601"], APP, "at most 600 s"),
    "a relative wait path": (["--wait-path", "health"], APP, "--wait-path must start with '/'"),
    "an upper-case name": (["--name", "MyApp"], APP, "--name 'MyApp': use 1-32 lower-case"),
    "an --env without =": (["--env", "GREETING"], APP, "--env 'GREETING': expected NAME=VALUE"),
    "an --env name with a dash": (["--env", "A-B=1"], APP, "expected NAME=VALUE"),
    "a newline in --env": (["--env", "A=x\ny"], APP, "--env A: control characters (here U+000A)"),
    # As the adapter refuses REWEB_WAIT_PATH (config.parse_path), not as a Dockerfile value: the template's
    # Environment, where a value the Dockerfile cannot hold goes, would not help.
    "a control character in --wait-path": (["--wait-path", "/\x7f"], APP, "--wait-path must not hold control"),
    "a tab in --wait-path": (["--wait-path", "/ready\tnow"], APP, "--wait-path must not hold control characters"),
    "a secret from elsewhere": (["--secret", "DB=vault:db"], APP, "must start with ssm: or secretsmanager:"),
    "--wheel without pip": (["--wheel", "x.whl"], APP, "--wheel goes with --install pip"),
    "a wheel of another name": (["--install", "pip", "--wheel", "/etc/hostname"], APP,
                                "expected a file reweb_lambda-<version>-py3-none-any.whl"),
    "--apt on alpine": (["--base", "alpine:3.20", "--apt", "curl"], APP, "--apt needs a Debian-based image"),
    "pip into a folder outside": (["--install", "pip", "--dir", "/tmp/elsewhere"], APP,
                                  "--dir must be inside this folder"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_with_its_reason(here: Path, case: str) -> None:
    args, command, message = BAD[case]
    with pytest.raises(ScaffoldError) as refused:
        plan(*args, command=command)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert list(here.iterdir()) == []  # planning writes nothing


# -- a setting init has a flag for is not also given by --env -------------------------------------------------

OPTIONS = parser()._option_string_actions  # init's flags (argparse has no public view of them)
# Every environment name (reweb's, LWA's aliases) of a setting init takes as a flag, from config.SPECS.
FLAGGED = {name: INIT_FLAGS[spec.field] for spec in SPECS if spec.field in INIT_FLAGS for name in spec.names}
UNFLAGGED = sorted({name for spec in SPECS for name in spec.names} - set(FLAGGED))


def test_the_flagged_settings_are_init_flags() -> None:
    assert {"REWEB_WAIT_PATH", "AWS_LWA_READINESS_CHECK_PATH", "READINESS_CHECK_PATH", "REWEB_APPLICATION_PORT",
            "AWS_LWA_PORT", "PORT", "REWEB_INVOKE_MODE", "AWS_LWA_INVOKE_MODE"} <= set(FLAGGED)
    assert set(INIT_FLAGS.values()) <= set(OPTIONS)  # flags init has
    assert set(INIT_FLAGS) <= {spec.field for spec in SPECS}  # settings reweb has
    # A `reweb` option init takes too (same name) sets the same setting, so it must be in INIT_FLAGS.
    shared = {spec.field: spec.flag for spec in SPECS if spec.flag in OPTIONS}
    assert shared.items() <= INIT_FLAGS.items(), shared


@pytest.mark.parametrize("name", sorted(FLAGGED))
def test_a_flagged_setting_is_refused_by_env(here: Path, name: str) -> None:
    """The Dockerfile let --env win over the flag, the SAM template's parameter set the function's environment
    and the check used the flag: three answers. One source now, the flag, named in the one line."""
    flag = FLAGGED[name]
    with pytest.raises(ScaffoldError) as refused:
        plan("--env", "GREETING=hello", "--env", f"{name}=/other", "--no-check")
    message = str(refused.value)
    assert message.startswith(f"--env {name}: ") and f"use {flag}" in message and "\n" not in message
    assert list(here.iterdir()) == []


@pytest.mark.parametrize("name", ["GREETING", "APP_PORT", "reweb_wait_path", *UNFLAGGED])
def test_an_env_without_a_flag_passes_through(here: Path, name: str) -> None:
    assert plan("--env", f"{name}=/x y", "--wait-path", "/healthz").env == {name: "/x y"}
