"""`reweb init`'s plan: the command line read and checked into a Plan, before anything runs or is written."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..config import SPECS, parse_path
from ..frontdoors import NAMES, FrontDoor, find

API_GATEWAY_TIMEOUT = 29  # REST gives up at 29 s (raisable), HTTP APIs at 30 s: a longer function timeout is unused
# VPC Lattice closes a connection to its target after the service's idle timeout (60 s by default, at most 600 s),
# and a buffered answer sends nothing until it is done: the SAM template's IdleTimeout follows --timeout.
LATTICE_IDLE_DEFAULT, LATTICE_IDLE_MAX = 60, 600
DEFAULT_PORT = 8000

# The base image an app's command suggests, and what Debian calls the program when the base is Debian's.
BASES = (
    (("python", "python3", "gunicorn", "uvicorn", "hypercorn", "waitress-serve", "flask", "datasette", "daphne",
      "streamlit"), "python:3.12-slim"),
    (("node", "npm", "npx", "yarn", "pnpm"), "node:22-slim"),
    (("php",), "php:8.3-cli"),
    (("ruby", "bundle", "rails", "puma", "rackup"), "ruby:3.3-slim"),
    (("java",), "eclipse-temurin:21-jre"),
)
DEBIAN_PACKAGES = {"python3": "python3", "python": "python3", "php": "php-cli", "node": "nodejs",
                   "busybox": "busybox", "ruby": "ruby", "java": "default-jre-headless"}
# The settings (config.SPECS fields) init takes as flags of its own: each has one source, its flag, which the
# Dockerfile, the template and the check all read, so --env refuses any of their names. The invoke mode is --stream.
INIT_FLAGS = {"port": "--port", "wait_path": "--wait-path", "invoke_mode": "--stream"}


class ScaffoldError(Exception):
    """A one-line reason why nothing was written."""


@dataclass
class Plan:
    command: list[str]
    front_door: str
    name: str
    out: Path
    context: Path
    port: int = DEFAULT_PORT
    wait_path: str = "/"
    memory: int = 1024
    timeout: int = 30
    arch: str = "x86_64"
    stream: bool = False
    iac: str = "sam"
    base: str = ""
    install: str = ""
    apt: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    offload: bool = False
    wheel: Path | None = None  # --install pip: the reweb-lambda wheel to write beside the Dockerfile
    notes: list[str] = field(default_factory=list)

    @property
    def door(self) -> FrontDoor:
        door = find(self.front_door)
        if door is None:  # make_plan takes front_door from the registry
            raise ScaffoldError(f"unknown front door {self.front_door!r}")
        return door


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="reweb init", usage="reweb init [OPTIONS] -- CMD ARGS...",
        description="Write a folder that deploys this app on AWS Lambda: a Dockerfile with reweb, the template of "
                    "the chosen front door (SAM or Terraform) and a README of the deploy commands. The app is first "
                    "run under `reweb local` to check that it starts and opens its port; nothing is written if not.",
        epilog="example:\n  reweb init --front-door http-api -- python3 -m http.server 8000 --bind 127.0.0.1\n"
               "  (run from the app's folder: it is the image's build context)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--front-door", default="function-url",
                   help=f"one of {', '.join(NAMES)} (default: %(default)s; see docs/deploy.md)")
    p.add_argument("--stream", action="store_true",
                   help="response streaming (function-url, or rest-api: its STREAM transfer mode, up to 15 minutes)")
    # Not 8080: SAM CLI's emulator (sam local start-api) listens there inside the container.
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help="port the app listens on, on 127.0.0.1 (default: %(default)s)")
    p.add_argument("--wait-path", default="/", help="path polled until the app answers (default: /)")
    p.add_argument("--memory", type=int, default=1024, help="memory size in MB (default: 1024)")
    p.add_argument("--timeout", type=int, default=None,
                   help="function timeout in seconds (default: 30; 29 behind API Gateway)")
    p.add_argument("--arch", choices=("x86_64", "arm64"), default="x86_64", help="(default: %(default)s)")
    p.add_argument("--name", default=None, help="function, stack and image name (default: this folder's name)")
    p.add_argument("--dir", default="reweb-deploy", help="folder to write (default: %(default)s)")
    p.add_argument("--iac", choices=("sam", "terraform"), default="sam", help="template kind (default: sam)")
    p.add_argument("--base", default=None, help="the image's FROM (default: inferred from the command)")
    p.add_argument("--install", choices=("copy", "pip"), default=None,
                   help="how reweb gets into the image: its one-line COPY from reweb's image (default), or "
                        "pip install of the reweb-lambda wheel written beside the Dockerfile (an image with "
                        "Python 3.11+ and pip)")
    p.add_argument("--wheel", default=None, metavar="PATH",
                   help="with --install pip: the reweb-lambda wheel (default: built from this checkout of reweb)")
    p.add_argument("--apt", action="append", default=[], metavar="PKG",
                   help="a Debian package the image needs (repeatable; Debian/Ubuntu bases)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="a setting of the app or reweb, baked into the image (repeatable; no secrets; not one "
                        "of the settings init has a flag for, such as --port or --wait-path)")
    p.add_argument("--secret", action="append", default=[], metavar="NAME=ssm:...|secretsmanager:...",
                   help="the app gets NAME from SSM or Secrets Manager at init (repeatable; an ARN also grants "
                        "the function read access to it)")
    p.add_argument("--offload", action="store_true",
                   help="an S3 bucket for responses over the front door's limit (REWEB_OFFLOAD_BUCKET)")
    p.add_argument("--no-check", action="store_true",
                   help="do not run the app under reweb local first (for commands that exist only in the image)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist and differ")
    return p


# Every environment name of those settings (reweb's and its aliases) -> its Spec and init's flag.
OWN_SETTINGS = {name: (spec, INIT_FLAGS[spec.field]) for spec in SPECS if spec.field in INIT_FLAGS
                for name in spec.names}


def wait_target(wait_path: str) -> str:
    """The request target the adapter polls for --wait-path (config.parse_path: spaces and non-ASCII
    percent-encoded, control characters refused), the one the check sends too."""
    try:
        return parse_path(wait_path)
    except ValueError as exc:
        raise ScaffoldError(f"--wait-path {exc}") from None


def make_plan(args: argparse.Namespace, command: list[str]) -> Plan:
    if not command:
        raise ScaffoldError("no app command: give it after `--` (reweb init -- CMD ARGS)")
    front_door = find(args.front_door)
    if front_door is None:
        raise ScaffoldError(f"unknown front door {args.front_door!r}: choose one of {', '.join(NAMES)}")
    door = front_door.name
    if args.stream and not front_door.streams:
        raise ScaffoldError(f"--stream: the templates stream through a Function URL or a REST API only, not {door}")
    if not 1024 < args.port <= 65535:
        raise ScaffoldError("--port must be 1025-65535 (Lambda forbids ports below 1024)")
    if not 128 <= args.memory <= 10240:
        raise ScaffoldError("--memory must be 128-10240 MB")
    # A streaming REST API waits up to 15 minutes: its 29 s do not bound the function there.
    timeout = args.timeout if args.timeout is not None else (
        API_GATEWAY_TIMEOUT if door in ("http-api", "rest-api") and not args.stream else 30)
    if not 1 <= timeout <= 900:
        raise ScaffoldError("--timeout must be 1-900 seconds")
    if door == "lattice" and timeout > LATTICE_IDLE_MAX:
        raise ScaffoldError(f"--timeout: VPC Lattice cuts a request after at most {LATTICE_IDLE_MAX} s "
                            "(its idle timeout)")
    wait_target(args.wait_path)  # so that --no-check refuses what the adapter would
    context = Path.cwd()
    name = args.name or re.sub(r"[^a-z0-9-]+", "-", context.name.lower()).strip("-")[:32].strip("-") or "reweb-app"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", name):
        raise ScaffoldError(f"--name {name!r}: use 1-32 lower-case letters, digits and dashes (ALB and ECR names)")
    env = dict(_pair(item, "--env") for item in args.env)
    # A setting with a flag of its own has one source: the Dockerfile, the template and the check all take the flag.
    for key in env:
        if key in OWN_SETTINGS:
            spec, flag = OWN_SETTINGS[key]
            use = "--stream, or nothing for buffered" if flag == "--stream" else flag
            raise ScaffoldError(f"--env {key}: reweb init sets {spec.names[0]} from its flag {flag} (the Dockerfile, "
                                f"the template and the check all read it there): use {use} instead")
    secrets = dict(_pair(item, "--secret") for item in args.secret)
    for secret_name, ref in secrets.items():
        if not ref.startswith(("ssm:", "secretsmanager:")):
            raise ScaffoldError(f"--secret {secret_name}: the value must start with ssm: or secretsmanager:")
    _writable("--wait-path", args.wait_path)
    for flag, pairs in (("--env", env), ("--secret", secrets)):
        for key, value in pairs.items():
            _writable(f"{flag} {key}", value)
    # Not resolved: a --dir that is a symbolic link is refused (write), not followed.
    out = Path(os.path.abspath(context / args.dir))
    plan = Plan(command=command, front_door=door, name=name, out=out, context=context,
                port=args.port, wait_path=args.wait_path, memory=args.memory, timeout=timeout, arch=args.arch,
                stream=args.stream, iac=args.iac, apt=list(args.apt), env=env, secrets=secrets, offload=args.offload)
    program = os.path.basename(command[0])
    plan.base = args.base or next((base for programs, base in BASES if _matches(program, programs)),
                                  "debian:bookworm-slim")
    image, _, tag = plan.base.partition(":")
    debian = image.split("/")[-1] in ("debian", "ubuntu")
    # The official language images are Debian underneath (except their -alpine tags): apt works there too.
    apt_works = (debian or image.split("/")[-1] in ("python", "node", "php", "ruby", "eclipse-temurin")) and \
        "alpine" not in tag
    package = DEBIAN_PACKAGES.get(re.sub(r"[\d.]+$", "", program))
    if debian and package and package not in plan.apt:
        plan.apt.insert(0, package)  # a Debian base has no interpreter: install the one the command runs
    if (plan.secrets or plan.offload) and apt_works and "ca-certificates" not in plan.apt:
        plan.apt.append("ca-certificates")  # reweb's TLS to SSM, Secrets Manager and S3 needs the CA bundle
    # The one-line COPY by default. reweb-lambda is not on PyPI yet: --install pip installs a wheel written
    # beside the Dockerfile, given with --wheel or built from this checkout (render).
    plan.install = args.install or "copy"
    if args.wheel and plan.install != "pip":
        raise ScaffoldError("--wheel goes with --install pip")
    if plan.install == "pip":
        plan.wheel = _wheel_source(args.wheel)
        if not out.is_relative_to(context):
            raise ScaffoldError("--install pip: --dir must be inside this folder (the build context), where the "
                                "Dockerfile's COPY finds the wheel")
    if plan.apt and not apt_works:
        raise ScaffoldError(f"--apt needs a Debian-based image, not {plan.base}")
    if door == "lattice" and args.iac == "terraform" and timeout > LATTICE_IDLE_DEFAULT:
        plan.notes.append(f"the Terraform module leaves the Lattice service's idle timeout at its default, "
                          f"{LATTICE_IDLE_DEFAULT} s: raise it to {timeout} s (aws vpc-lattice update-service "
                          "--idle-timeout-seconds) or requests longer than that are cut")
    if any(":arn:" not in ref for ref in plan.secrets.values()):
        plan.notes.append("a secret given by name, not ARN, needs its ARN in the template's SsmParameterArns / "
                          "SecretArns (Terraform: ssm_parameter_arns / secret_arns) for the function to read it")
    templates_dir()  # before the check: an installation without templates fails at once
    if (plan.secrets or plan.offload) and not apt_works:
        plan.notes.append(f"reweb reaches AWS over TLS: make sure {plan.base} has a CA bundle "
                          "(/etc/ssl/certs/ca-certificates.crt, or SSL_CERT_FILE)")
    return plan


def _matches(program: str, programs: tuple[str, ...]) -> bool:
    return program in programs or re.sub(r"[\d.]+$", "", program) in programs


def _wheel_source(given: str | None) -> Path:
    """--install pip: the wheel given, or the checkout to build it from (render)."""
    if given:
        path = Path(given).resolve()
        if not (path.is_file() and re.fullmatch(r"reweb_lambda-[^-]+-py3-none-any\.whl", path.name)):
            raise ScaffoldError(f"--wheel {given}: expected a file reweb_lambda-<version>-py3-none-any.whl")
        return path
    root = Path(__file__).resolve().parents[3]  # src/reweb/scaffold/plan.py
    pyproject = root / "pyproject.toml"
    if not (pyproject.is_file() and 'name = "reweb-lambda"' in pyproject.read_text()):
        raise ScaffoldError("--install pip: reweb-lambda is not on PyPI yet, and this installation is no checkout of "
                            "reweb to build its wheel from: give --wheel PATH, or use --install copy")
    return root



def _writable(what: str, value: str) -> None:
    """Refuse what a Dockerfile's ENV line cannot hold: BuildKit's lexer has no escape for control characters."""
    control = re.search(r"[\x00-\x1f\x7f-\x9f]", value)
    if control:
        raise ScaffoldError(f"{what}: control characters (here U+{ord(control.group()):04X}) cannot be written into "
                            "the Dockerfile's ENV: set this value in the template's Environment instead")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ScaffoldError(f"{what}: not valid UTF-8") from None


def _pair(item: str, flag: str) -> tuple[str, str]:
    key, eq, value = item.partition("=")
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ScaffoldError(f"{flag} {item!r}: expected NAME=VALUE with NAME a valid environment variable name")
    return key, value



def templates_dir() -> Path:
    """deploy/ of a checkout (an editable install), or reweb/deploy/ if a package build ships it there."""
    here = Path(__file__).resolve().parent.parent  # reweb/
    for candidate in (here / "deploy", here.parent.parent / "deploy"):
        if (candidate / "sam").is_dir() and (candidate / "terraform" / "modules" / "reweb").is_dir():
            return candidate
    raise ScaffoldError("this installation of reweb has no deploy templates (deploy/sam, deploy/terraform): "
                        "run reweb init from a checkout of reweb (pip install -e .)")

