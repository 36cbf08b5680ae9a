"""`reweb init`'s renderers: a Plan into the files of the folder (Dockerfile, .dockerignore, the SAM template or
the Terraform main.tf beside the module's copy, README), and the reweb-lambda wheel for --install pip."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .plan import LATTICE_IDLE_DEFAULT, Plan, ScaffoldError, templates_dir


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
            raise ScaffoldError(f"--install pip: cannot build reweb-lambda's wheel: {exc}") from None
        wheels = sorted(out.glob("reweb_lambda-*.whl"))
        if done.returncode != 0 or not wheels:
            last = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()][-1:] or ["no wheel"]
            raise ScaffoldError(f"--install pip: building reweb-lambda's wheel from {root} failed: {last[0].strip()}")
        return wheels[0].name, wheels[0].read_bytes()



def render(plan: Plan) -> dict[str, str | bytes]:
    source = templates_dir()
    wheel = ""
    files: dict[str, str | bytes] = {}
    if plan.wheel is not None:
        wheel, files[wheel] = (plan.wheel.name, plan.wheel.read_bytes()) if plan.wheel.is_file() else \
            build_wheel(plan.wheel)
    files.update({"Dockerfile": dockerfile(plan, wheel), "Dockerfile.dockerignore": dockerignore(plan, wheel)})
    if plan.iac == "sam":
        files["template.yaml"] = sam_template(plan, (source / "sam" / plan.door.template).read_text())
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
    from .. import __version__

    lines = [f"# Written by `reweb init` (reweb {__version__}): the app below, reweb as the entrypoint.",
             f"# Build from the app's folder: docker build -f {_rel(plan)}/Dockerfile -t {plan.name} .",
             f"FROM {plan.base}"]
    if plan.apt:
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends "
                     f"{' '.join(plan.apt)} && rm -rf /var/lib/apt/lists/*")
    if plan.install == "copy":
        lines += ["# reweb's image (docs/images.md): one static file, no Python needed in this image. Its SBOM",
                  "# (CycloneDX) too, where scanners find it (Trivy, syft: any *.cdx.json), else reweb is opaque.",
                  "COPY --from=reweb /reweb /usr/local/bin/reweb",
                  "COPY --from=reweb /reweb.cdx.json /usr/share/sbom/reweb.cdx.json"]
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
        raise ScaffoldError(f"the template has no default for {parameter}: is deploy/sam up to date?")
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
    if plan.door.streams:  # the templates of the doors that stream have a Streaming parameter
        text = _set_default(text, "Streaming", quoted(str(plan.stream).lower()))
    if plan.front_door.startswith("alb"):
        text = _set_default(text, "MultiValueHeaders", quoted(str(plan.front_door == "alb-multi").lower()))
    if plan.front_door == "lattice":
        text = _set_default(text, "IdleTimeout", str(max(LATTICE_IDLE_DEFAULT, plan.timeout)))
    for parameter, service in (("SsmParameterArns", "ssm"), ("SecretArns", "secretsmanager")):
        arns = _arns(plan.secrets, service)
        if arns:
            text = _set_default(text, parameter, quoted(",".join(arns)))
    return f"# Written by `reweb init` from reweb's deploy/sam/{plan.door.template}: edit freely.\n" + text


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
    door = plan.door.terraform
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
                   "The Dockerfile copies reweb from the image `reweb` (one static file, and its SBOM). Until it is\n"
                   "published, build it once from a checkout of reweb (docs/images.md): `bash scripts/build"
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
    local_command = (f"reweb local --source {plan.front_door}"
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

