"""`reweb init`: write a folder that deploys this app on AWS Lambda behind the chosen front door.

    reweb init [--front-door DOOR] [--port N] [--memory MB] ... -- CMD ARGS...

It first runs CMD under `reweb local` (the chosen front door, the given port) and stops at the first answer, so
a command that does not start, or a port the app never opens, is a one-line error with nothing written. Then it
writes, into `--dir` (default `reweb-deploy/`): a Dockerfile (reweb added by its one-line `COPY --from=reweb`, or
`--install pip`: pip installs the reweb-lambda wheel written beside it, built from this checkout or given with
`--wheel`, as the package is not on PyPI yet), the SAM template of that front door (deploy/sam/, its parameters'
defaults set to what was given) or the Terraform module with a main.tf calling it (`--iac terraform`), and a
README of the deploy commands. Files that exist and differ are never overwritten without `--force`, and nothing is
ever written through a symbolic link.

Only `reweb init` imports this module (cli.py); the adapter never loads it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

# front door -> (SAM template in deploy/sam/, `reweb local --source`, Terraform front_door)
FRONT_DOORS = {
    "function-url": ("function-url.yaml", "function-url", "function-url"),
    "http-api": ("http-api.yaml", "http-api", "http-api"),
    "rest-api": ("rest-api.yaml", "rest", "rest-api"),
    "alb": ("alb.yaml", "alb", "alb"),
    "alb-multi": ("alb.yaml", "alb-multi", "alb"),
    "lattice": ("lattice.yaml", "lattice", "lattice"),
}
ALIASES = {"rest": "rest-api", "url": "function-url", "alb-multi-value": "alb-multi", "vpc-lattice": "lattice"}
API_GATEWAY_TIMEOUT = 29  # REST gives up at 29 s (raisable), HTTP APIs at 30 s: a longer function timeout is unused
# VPC Lattice closes a connection to its target after the service's idle timeout (60 s by default, at most 600 s),
# and a buffered answer sends nothing until it is done: the SAM template's IdleTimeout follows --timeout.
LATTICE_IDLE_DEFAULT, LATTICE_IDLE_MAX = 60, 600
DEFAULT_PORT = 8000
CHECK_TIMEOUT = 30.0  # seconds for the whole check: reweb local gives init 10 s, plus its own start

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


class InitError(Exception):
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
                   help=f"one of {', '.join(FRONT_DOORS)} (default: %(default)s; see docs/deploy.md)")
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
                   help="a setting of the app or reweb, baked into the image (repeatable; no secrets)")
    p.add_argument("--secret", action="append", default=[], metavar="NAME=ssm:...|secretsmanager:...",
                   help="the app gets NAME from SSM or Secrets Manager at init (repeatable; an ARN also grants "
                        "the function read access to it)")
    p.add_argument("--offload", action="store_true",
                   help="an S3 bucket for responses over the front door's limit (REWEB_OFFLOAD_BUCKET)")
    p.add_argument("--no-check", action="store_true",
                   help="do not run the app under reweb local first (for commands that exist only in the image)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist and differ")
    return p


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
    except InitError as exc:
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


# -- the plan --------------------------------------------------------------------------------------------------

def make_plan(args: argparse.Namespace, command: list[str]) -> Plan:
    if not command:
        raise InitError("no app command: give it after `--` (reweb init -- CMD ARGS)")
    door = ALIASES.get(args.front_door, args.front_door)
    if door not in FRONT_DOORS:
        raise InitError(f"unknown front door {args.front_door!r}: choose one of {', '.join(FRONT_DOORS)}")
    if args.stream and door not in ("function-url", "rest-api"):
        raise InitError(f"--stream: the templates stream through a Function URL or a REST API only, not {door}")
    if not 1024 < args.port <= 65535:
        raise InitError("--port must be 1025-65535 (Lambda forbids ports below 1024)")
    if not 128 <= args.memory <= 10240:
        raise InitError("--memory must be 128-10240 MB")
    # A streaming REST API waits up to 15 minutes: its 29 s do not bound the function there.
    timeout = args.timeout if args.timeout is not None else (
        API_GATEWAY_TIMEOUT if door in ("http-api", "rest-api") and not args.stream else 30)
    if not 1 <= timeout <= 900:
        raise InitError("--timeout must be 1-900 seconds")
    if door == "lattice" and timeout > LATTICE_IDLE_MAX:
        raise InitError(f"--timeout: VPC Lattice cuts a request after at most {LATTICE_IDLE_MAX} s (its idle timeout)")
    if not args.wait_path.startswith("/"):
        raise InitError("--wait-path must start with /")
    context = Path.cwd()
    name = args.name or re.sub(r"[^a-z0-9-]+", "-", context.name.lower()).strip("-")[:32].strip("-") or "reweb-app"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", name):
        raise InitError(f"--name {name!r}: use 1-32 lower-case letters, digits and dashes (ALB and ECR names)")
    env = dict(_pair(item, "--env") for item in args.env)
    secrets = dict(_pair(item, "--secret") for item in args.secret)
    for secret_name, ref in secrets.items():
        if not ref.startswith(("ssm:", "secretsmanager:")):
            raise InitError(f"--secret {secret_name}: the value must start with ssm: or secretsmanager:")
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
        raise InitError("--wheel goes with --install pip")
    if plan.install == "pip":
        plan.wheel = _wheel_source(args.wheel)
        if not out.is_relative_to(context):
            raise InitError("--install pip: --dir must be inside this folder (the build context), where the "
                            "Dockerfile's COPY finds the wheel")
    if plan.apt and not apt_works:
        raise InitError(f"--apt needs a Debian-based image, not {plan.base}")
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
            raise InitError(f"--wheel {given}: expected a file reweb_lambda-<version>-py3-none-any.whl")
        return path
    root = Path(__file__).resolve().parent.parent.parent
    pyproject = root / "pyproject.toml"
    if not (pyproject.is_file() and 'name = "reweb-lambda"' in pyproject.read_text()):
        raise InitError("--install pip: reweb-lambda is not on PyPI yet, and this installation is no checkout of "
                        "reweb to build its wheel from: give --wheel PATH, or use --install copy")
    return root


def build_wheel(root: Path) -> tuple[str, bytes]:
    """reweb-lambda's wheel, built from a copy of the checkout (the build leaves the checkout as it was)."""
    with tempfile.TemporaryDirectory(prefix="reweb-init-wheel-") as tmp:
        source, out = Path(tmp) / "source", Path(tmp) / "out"
        source.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", ".terraform*")
        shutil.copy2(root / "pyproject.toml", source)
        shutil.copy2(root / "README.md", source)
        for folder in ("src", "deploy"):
            shutil.copytree(root / folder, source / folder, ignore=ignore)
        # Reproducible: the same sources make the same bytes, so a second run finds the folder up to date.
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
        try:
            done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
                                   str(source)], capture_output=True, text=True, timeout=600, env=env, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InitError(f"--install pip: cannot build reweb-lambda's wheel: {exc}") from None
        wheels = sorted(out.glob("reweb_lambda-*.whl"))
        if done.returncode != 0 or not wheels:
            last = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()][-1:] or ["no wheel"]
            raise InitError(f"--install pip: building reweb-lambda's wheel from {root} failed: {last[0].strip()}")
        return wheels[0].name, wheels[0].read_bytes()


def _writable(what: str, value: str) -> None:
    """Refuse what a Dockerfile's ENV line cannot hold: BuildKit's lexer has no escape for control characters."""
    control = re.search(r"[\x00-\x1f\x7f-\x9f]", value)
    if control:
        raise InitError(f"{what}: control characters (here U+{ord(control.group()):04X}) cannot be written into "
                        "the Dockerfile's ENV: set this value in the template's Environment instead")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InitError(f"{what}: not valid UTF-8") from None


def _pair(item: str, flag: str) -> tuple[str, str]:
    key, eq, value = item.partition("=")
    if not eq or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise InitError(f"{flag} {item!r}: expected NAME=VALUE with NAME a valid environment variable name")
    return key, value


# -- the check: the app under reweb local ----------------------------------------------------------------------

def check_app(plan: Plan) -> None:
    """Start the app under `reweb local` with the chosen front door and port, send one request, stop it."""
    source = FRONT_DOORS[plan.front_door][1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        front_port = s.getsockname()[1]
    argv = [sys.executable, "-m", "reweb", "local", "--port", str(front_port), "--source", source,
            "--app-port", str(plan.port), "--concurrency", "1", "--no-freeze", "--memory", str(plan.memory),
            "--timeout", str(plan.timeout), *(["--stream"] if plan.stream else []), "--", *plan.command]
    env = {**os.environ, "REWEB_LOCAL_DASHBOARD": "off", "REWEB_WAIT_PATH": plan.wait_path, **plan.env}
    with tempfile.TemporaryFile(mode="w+", prefix="reweb-init-") as log:
        try:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, cwd=plan.context, start_new_session=True)
        except OSError as exc:
            raise InitError(f"cannot run reweb local: {exc}") from None
        try:
            _check(plan, process, front_port, log)
        finally:
            _stop(process)


def _check(plan: Plan, process: subprocess.Popen[bytes], front_port: int, log: IO[str]) -> None:
    def output() -> str:
        log.seek(0)
        return log.read()

    deadline = time.monotonic() + CHECK_TIMEOUT
    answer: dict[str, object] = {}

    def request() -> None:
        url = f"http://127.0.0.1:{front_port}{plan.wait_path}"
        while time.monotonic() < deadline and "done" not in answer:
            try:
                with urllib.request.urlopen(url, timeout=max(deadline - time.monotonic(), 1)) as response:
                    answer.update(status=response.status, error=response.headers.get("x-reweb-local-init-error"))
            except urllib.error.HTTPError as exc:
                answer.update(status=exc.code, error=exc.headers.get("x-reweb-local-init-error"))
            except OSError:  # the front door is not listening yet
                time.sleep(0.1)
                continue
            break
        answer["done"] = True

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    other_port = re.compile(rf"nothing listens on port {plan.port}, but the app listens on (\d+)")
    while thread.is_alive():
        thread.join(0.1)
        text = output()
        found = other_port.search(text)
        if found:  # reweb saw the app open another port: no need to wait for the init timeout
            answer["done"] = True
            raise InitError(f"the app does not open port {plan.port}: it listens on {found.group(1)} "
                            f"(give --port {found.group(1)}, or make the app listen on {plan.port})")
        if process.poll() is not None:
            answer["done"] = True
            last = [line for line in text.splitlines() if line.strip()][-1:] or ["(no output)"]
            raise InitError(f"reweb local exited ({process.returncode}): {last[0]}")
    if "status" not in answer:
        raise InitError(f"no answer from the app under reweb local within {CHECK_TIMEOUT:g} s")
    error = answer.get("error")
    if error:
        reason = " ".join(str(error).split()).rstrip(": ")
        if "InitTimeout" in reason:
            raise InitError(f"the app did not answer on port {plan.port} within reweb local's init time (10 s; "
                            f"ready means GET {plan.wait_path} answers 100-499): is --port right? ({reason})")
        raise InitError(f"the app does not start under reweb local: {reason}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


# -- the files -------------------------------------------------------------------------------------------------

def templates_dir() -> Path:
    """deploy/ of a checkout (an editable install), or reweb/deploy/ if a package build ships it there."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "deploy", here.parent.parent / "deploy"):
        if (candidate / "sam").is_dir() and (candidate / "terraform" / "modules" / "reweb").is_dir():
            return candidate
    raise InitError("this installation of reweb has no deploy templates (deploy/sam, deploy/terraform): "
                    "run reweb init from a checkout of reweb (pip install -e .)")


def render(plan: Plan) -> dict[str, str | bytes]:
    source = templates_dir()
    wheel = ""
    files: dict[str, str | bytes] = {}
    if plan.wheel is not None:
        wheel, files[wheel] = (plan.wheel.name, plan.wheel.read_bytes()) if plan.wheel.is_file() else \
            build_wheel(plan.wheel)
    files.update({"Dockerfile": dockerfile(plan, wheel), "Dockerfile.dockerignore": dockerignore(plan, wheel)})
    if plan.iac == "sam":
        files["template.yaml"] = sam_template(plan, (source / "sam" / FRONT_DOORS[plan.front_door][0]).read_text())
    else:
        module = source / "terraform" / "modules" / "reweb"
        for path in sorted(module.glob("*.tf")):
            files[f"modules/reweb/{path.name}"] = path.read_text()
        files["main.tf"] = terraform_main(plan)
    files["README.md"] = readme(plan)
    return files


def _docker_value(value: str) -> str:
    # Double-quoted for BuildKit's lexer (frontend/dockerfile/shell/lex.go, processDoubleQuote): a backslash
    # escapes only ", $ and itself there, every other character is taken as it is (UTF-8 included; control
    # characters were refused in make_plan). JSON's \u escapes would stay literal.
    return '"' + re.sub(r'(["$\\])', r"\\\1", value) + '"'


def dockerfile(plan: Plan, wheel: str = "") -> str:
    from . import __version__

    lines = [f"# Written by `reweb init` (reweb {__version__}): the app below, reweb as the entrypoint.",
             f"# Build from the app's folder: docker build -f {_rel(plan)}/Dockerfile -t {plan.name} .",
             f"FROM {plan.base}"]
    if plan.apt:
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends "
                     f"{' '.join(plan.apt)} && rm -rf /var/lib/apt/lists/*")
    if plan.install == "copy":
        lines += ["# reweb's image (docs/images.md): one static file, no Python needed in this image.",
                  "COPY --from=reweb /reweb /usr/local/bin/reweb"]
    else:
        lines += ["# reweb from the wheel beside this file (reweb-lambda is not on PyPI yet): Python 3.11+ and pip.",
                  f"COPY {_rel(plan)}/{wheel} /tmp/",
                  f"RUN pip install --no-cache-dir /tmp/{wheel} && rm /tmp/{wheel}"]
    lines += ["WORKDIR /app", "COPY . /app"]
    context = plan.context
    if (context / "requirements.txt").exists() and plan.base.startswith("python"):
        lines.append("RUN pip install --no-cache-dir -r requirements.txt")
    if (context / "package.json").exists() and plan.base.startswith("node"):
        lock = (context / "package-lock.json").exists()
        lines.append(f"RUN npm {'ci' if lock else 'install'} --omit=dev")
    if (context / "Gemfile").exists() and plan.base.startswith("ruby"):
        lines.append("RUN bundle install")
    settings = {"REWEB_APPLICATION_PORT": str(plan.port), "REWEB_WAIT_PATH": plan.wait_path, **plan.env}
    settings.update({f"REWEB_SECRET_{k}": v for k, v in plan.secrets.items()})
    if plan.stream:
        settings["REWEB_INVOKE_MODE"] = "response_stream"
    lines.append("# Settings (README, Settings); the template sets the port, wait path and invoke mode too.")
    lines += [f"ENV {k}={_docker_value(v)}" for k, v in settings.items()]
    lines.append("# As on Lambda: the app listens on 127.0.0.1 and writes only under /tmp.")
    lines.append(f"ENTRYPOINT {json.dumps(['reweb', '--', *plan.command])}")
    return "\n".join(lines) + "\n"


def dockerignore(plan: Plan, wheel: str = "") -> str:
    ignored = [".git", _rel(plan), *([f"!{_rel(plan)}/{wheel}"] if wheel else []), "**/__pycache__", ".venv",
               "venv", ".terraform", ".aws-sam"]
    if plan.base.startswith("node"):
        ignored.append("node_modules")  # installed in the image, for its libc and architecture
    return "# Files the image does not need (BuildKit reads this next to the Dockerfile given with -f).\n" + \
        "\n".join(ignored) + "\n"


def _rel(plan: Plan) -> str:
    try:
        return plan.out.relative_to(plan.context).as_posix()
    except ValueError:
        return str(plan.out)


def _set_default(text: str, parameter: str, value: str) -> str:
    """The parameter's Default: line (in its block under Parameters) set to value."""
    pattern = re.compile(rf"(^  {parameter}:\n(?:    .*\n)*?    Default: ).*$", re.M)
    new, count = pattern.subn(lambda m: m.group(1) + value, text, count=1)
    if count != 1:
        raise InitError(f"the template has no default for {parameter}: is deploy/sam up to date?")
    return new


def _arns(refs: dict[str, str], service: str) -> list[str]:
    arns = []
    for ref in refs.values():
        kind, _, rest = ref.partition(":")
        rest = rest.split("#", 1)[0]  # `#key` picks a key of the JSON value (secrets.py), for SSM too
        if kind == service and rest.startswith("arn:"):
            arns.append(rest)
    return arns


def sam_template(plan: Plan, text: str) -> str:
    quoted = json.dumps
    for parameter, value in (("MemorySize", str(plan.memory)), ("Timeout", str(plan.timeout)),
                             ("AppPort", str(plan.port)), ("WaitPath", quoted(plan.wait_path)),
                             ("Architecture", plan.arch), ("OffloadBucket", quoted(str(plan.offload).lower()))):
        text = _set_default(text, parameter, value)
    if plan.front_door in ("function-url", "rest-api"):
        text = _set_default(text, "Streaming", quoted(str(plan.stream).lower()))
    if plan.front_door.startswith("alb"):
        text = _set_default(text, "MultiValueHeaders", quoted(str(plan.front_door == "alb-multi").lower()))
    if plan.front_door == "lattice":
        text = _set_default(text, "IdleTimeout", str(max(LATTICE_IDLE_DEFAULT, plan.timeout)))
    for parameter, service in (("SsmParameterArns", "ssm"), ("SecretArns", "secretsmanager")):
        arns = _arns(plan.secrets, service)
        if arns:
            text = _set_default(text, parameter, quoted(",".join(arns)))
    return f"# Written by `reweb init` from reweb's deploy/sam/{FRONT_DOORS[plan.front_door][0]}: edit freely.\n" + text


def _hcl(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(v) for v in value) + "]"
    raise TypeError(value)


def terraform_main(plan: Plan) -> str:
    door = FRONT_DOORS[plan.front_door][2]
    args: dict[str, object] = {"source": "./modules/reweb", "name": plan.name, "front_door": door,
                               "architecture": plan.arch, "memory_size": plan.memory, "timeout": plan.timeout,
                               "app_port": plan.port, "wait_path": plan.wait_path}
    if plan.stream:
        args["streaming"] = True
    if plan.offload:
        args["offload_bucket"] = True
    if plan.front_door.startswith("alb"):
        args["alb_multi_value_headers"] = plan.front_door == "alb-multi"
    if plan.front_door == "lattice":
        args["lattice_auth_type"] = "AWS_IAM"  # or NONE: any client that reaches the service network
    for key, service in (("ssm_parameter_arns", "ssm"), ("secret_arns", "secretsmanager")):
        if _arns(plan.secrets, service):
            args[key] = _arns(plan.secrets, service)
    width = max(len(k) for k in [*args, "image_uri"])
    body = [f"  {k.ljust(width)} = {_hcl(v)}" for k, v in args.items()]
    body.insert(2, f"  {'image_uri'.ljust(width)} = var.image_uri")
    door_vars = ""
    if door == "lattice":
        body.append(f"  {'vpc_id'.ljust(width)} = var.vpc_id")
        door_vars = ('\nvariable "vpc_id" {\n'
                     '  description = "A VPC whose clients may call the app (associated with the service network)."\n'
                     "  type        = string\n  default     = null\n}\n")
    if door == "alb":
        body += [f"  {'vpc_id'.ljust(width)} = var.vpc_id", f"  {'subnet_ids'.ljust(width)} = var.subnet_ids"]
        door_vars = ('\nvariable "vpc_id" {\n  type = string\n}\n\nvariable "subnet_ids" {\n'
                    '  description = "Two or more public subnets in different Availability Zones."\n'
                    "  type        = list(string)\n}\n")
    return f"""# Written by `reweb init`: the module is a copy of reweb's deploy/terraform/modules/reweb. Edit freely.
terraform {{
  required_version = ">= 1.5"
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = ">= 6.28"
    }}
  }}
}}

provider "aws" {{}} # region and credentials from the environment (AWS_REGION, AWS_PROFILE...)

variable "image_uri" {{
  description = "The image pushed to ECR (README.md, step 2)."
  type        = string
}}
{door_vars}
module "app" {{
{chr(10).join(body)}
}}

output "url" {{
  value = module.app.url
}}
"""


PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}  # Lambda's architectures, as Docker names them


def readme(plan: Plan) -> str:
    rel = shlex.quote(_rel(plan))
    name = plan.name
    door = plan.front_door + (" (response streaming)" if plan.stream else "")
    extra = ""
    if plan.front_door.startswith("alb"):
        extra = " VpcId=vpc-... SubnetIds=subnet-a,subnet-b" if plan.iac == "sam" else \
            " -var vpc_id=vpc-... -var 'subnet_ids=[\"subnet-a\",\"subnet-b\"]'"
    if plan.front_door == "lattice":
        extra = " VpcId=vpc-..." if plan.iac == "sam" else " -var vpc_id=vpc-..."
    if plan.iac == "sam":
        # `aws cloudformation deploy` applies the SAM transform itself; `sam deploy` would insist on an image
        # repository to push to, and the image is already pushed.
        deploy = (f"aws cloudformation deploy --template-file {rel}/template.yaml --stack-name {name} \\\n"
                  "  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \\\n"
                  f"  --parameter-overrides ImageUri=$IMAGE{extra}\n"
                  f"aws cloudformation describe-stacks --stack-name {name} "
                  "--query 'Stacks[0].Outputs[?OutputKey==`Url`].OutputValue' --output text")
        remove = f"aws cloudformation delete-stack --stack-name {name}"
    else:
        # -chdir, not cd: every command runs from the app's folder, whichever steps are run again.
        terraform = f"terraform -chdir={rel}"
        deploy = f"{terraform} init\n{terraform} apply -var image_uri=$IMAGE{extra}\n{terraform} output -raw url"
        remove = f"{terraform} destroy -var image_uri=$IMAGE{extra}"
    validate = f"python3 {templates_dir() / 'validate.py'} {rel}"
    platform = PLATFORMS[plan.arch]
    reweb_image = ("" if plan.install == "pip" else
                   "The Dockerfile copies reweb from the image `reweb` (one static file). Until it is published, "
                   "build it once\nfrom a checkout of reweb (docs/images.md): `bash scripts/build"
                   f"{' arm64' if plan.arch == 'arm64' else ''} &&\ndocker build --platform {platform} -f "
                   "packaging/docker/Dockerfile -t reweb .`\n\n")
    if plan.arch == "arm64":
        reweb_image += ("An arm64 image built on an x86_64 machine runs its `RUN` steps under QEMU: "
                        "`docker run --privileged --rm\ntonistiigi/binfmt --install arm64` once, if Docker "
                        "says `exec format error`.\n\n")
    notes = "".join(f"- {note}\n" for note in plan.notes)
    vpc, network = ("VpcId", "ServiceNetworkId") if plan.iac == "sam" else ("vpc_id", "lattice_service_network_id")
    lattice = "" if plan.front_door != "lattice" else f"""
The address answers only inside the VPCs associated with the service network: `{vpc}` names the callers' VPC
(or give `{network}` to join an existing network, whose owner associates them). With the auth type AWS_IAM,
callers sign their requests with SigV4 for the service `vpc-lattice-svcs`, payload unsigned; from a host in such
a VPC, with the credentials of an allowed principal (this account's by default):

```bash
curl --aws-sigv4 "aws:amz:$REGION:vpc-lattice-svcs" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\
  -H "x-amz-security-token: $AWS_SESSION_TOKEN" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$URL"
```
"""
    local_command = (f"reweb local --source {FRONT_DOORS[plan.front_door][1]}"
                     f"{' --stream' if plan.stream else ''} --app-port {plan.port} \\\n  -- {shlex.join(plan.command)}")
    return f"""# Deploying {name} on AWS Lambda with reweb

Written by `reweb init` for `{shlex.join(plan.command)}` behind the front door **{door}**: {plan.memory} MB,
{plan.timeout} s, the app on port {plan.port}, {plan.arch}. Edit these files freely: `reweb init` does not
overwrite them again without `--force`. Which front door to choose, limits and costs: reweb's docs/deploy.md.

{reweb_image}Run every command from the app's folder (the image's build context), with AWS credentials; the region is
AWS_REGION's, else AWS_DEFAULT_REGION's, else the profile's (the AWS CLI's order).

```bash
# 1. build the image for the function's architecture, as one image (Lambda refuses an index with attestations);
#    try the app behind the emulated front door and Lambda: http://127.0.0.1:3000/ (Ctrl-C stops it)
docker build --platform {platform} --provenance=false -f {rel}/Dockerfile -t {name} .
{local_command}

# 2. push it to ECR
REGION=${{AWS_REGION:-${{AWS_DEFAULT_REGION:-$(aws configure get region || true)}}}}
export AWS_REGION=${{REGION:?no AWS region: export AWS_REGION=us-east-1 for one, then run this step again}}
ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
aws ecr describe-repositories --repository-names {name} >/dev/null 2>&1 || \\
  aws ecr create-repository --repository-name {name}
aws ecr get-login-password | docker login --username AWS --password-stdin $ACCOUNT.dkr.ecr.$REGION.amazonaws.com
IMAGE=$ACCOUNT.dkr.ecr.$REGION.amazonaws.com/{name}:v1
docker tag {name} $IMAGE && docker push $IMAGE

# 3. deploy, and print the app's address
{deploy}

# remove everything
{remove}
```

Deploy a new version: build, tag and push a new tag (v2...), then run step 3 with it. Secrets never go into
these files: the app gets them at init from SSM or Secrets Manager (`REWEB_SECRET_<NAME>`, reweb's README).
Check the templates without an AWS account (cfn-lint, sam validate, checkov): `{validate}`.
{lattice}{("" if not notes else chr(10) + "Notes:" + chr(10) + notes)}"""


# -- writing ---------------------------------------------------------------------------------------------------

def write(out: Path, files: dict[str, str | bytes], force: bool, generated: Iterable[str] = ()) -> list[str]:
    """Write files under out; nothing at all if one that exists differs (and is not one of the generated) and
    force is off. Returns the changed."""
    data = {rel: text.encode() if isinstance(text, str) else text for rel, text in files.items()}
    _refuse_links(out, data)
    changed = [rel for rel, content in data.items() if not _same(out / rel, content)]
    conflicts = [rel for rel in changed if (out / rel).exists() and rel not in set(generated)]
    if conflicts and not force:
        raise InitError(f"{os.path.relpath(out)} has files that differ from what would be written "
                        f"({', '.join(conflicts)}): kept as they are; use --force to overwrite them")
    if not changed:
        return []
    if not out.exists():
        # A fresh folder appears whole or not at all: written aside, then renamed into place.
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            for rel, content in data.items():
                (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                _write_new(staging / rel, content)
            staging.chmod(0o755)
            staging.rename(out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return list(files)
    for rel in changed:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_new(target, data[rel])
    return changed


def _refuse_links(out: Path, rels: Iterable[str]) -> None:
    """A symbolic link where a file or folder is written would send the write elsewhere: refused, even forced."""
    paths = {out}
    for rel in rels:
        parts = Path(rel).parts
        paths.update(out.joinpath(*parts[:end]) for end in range(1, len(parts) + 1))
    for path in sorted(paths):
        if path.is_symlink():
            raise InitError(f"{os.path.relpath(path)} is a symbolic link: reweb init never writes through one "
                            "(remove it, or give another --dir)")


def _write_new(target: Path, content: bytes) -> None:
    """The file whole, never half-written: a new temporary file of a random name (O_EXCL: never an existing
    file or link) beside the target, renamed over it (a rename replaces a link, it does not follow it)."""
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".reweb-init", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), 0o644)
            file.write(content)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _same(path: Path, content: bytes) -> bool:
    try:
        return path.read_bytes() == content
    except OSError:
        return False
