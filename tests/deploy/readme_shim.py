"""Stands in for `aws`, `terraform`, `sam`, `docker` and `reweb` while tests/deploy/test_init_readme.py runs the
commands of a README that `reweb init` wrote: each call is appended to $SHIM_LOG as one JSON line (the tool, its
arguments, the working directory, AWS_REGION, what it read on stdin), and answered as AWS would without calling
it. `docker build` runs the real Docker when $SHIM_REAL_DOCKER names a client; `reweb local` runs the real
emulator on $REWEB_LOCAL_PORT, records the first answer of GET /, and stops it.

    python3 readme_shim.py TOOL ARGS...
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

ACCOUNT = "123456789012"
URL = "https://abc123.execute-api.example.amazonaws.com/"


def record(**entry: object) -> None:
    with open(os.environ["SHIM_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def aws(args: list[str]) -> int:
    command = args[:2]
    if command == ["configure", "get"]:
        region = os.environ.get("SHIM_CONFIG_REGION", "")
        if not region:
            return 1  # as the AWS CLI does when the profile has no such value
        print(region)
    elif command == ["sts", "get-caller-identity"]:
        print(ACCOUNT)
    elif command == ["ecr", "describe-repositories"]:
        sys.stderr.write("An error occurred (RepositoryNotFoundException)\n")
        return 254
    elif command == ["ecr", "get-login-password"]:
        print("fake-ecr-password")
    elif command == ["cloudformation", "describe-stacks"]:
        print(URL)
    return 0


def docker(args: list[str]) -> int:
    real = os.environ.get("SHIM_REAL_DOCKER")
    if args[:1] == ["build"] and real:
        argv = [real, *args]
        known = subprocess.run([real, "build", "--help"], capture_output=True, text=True, check=False).stdout
        if "--provenance" not in known:
            # Docker 20.10's BuildKit (the daemon the tests make) writes no attestations and lacks the flag.
            argv.remove("--provenance=false")
        return subprocess.run(argv, check=False, timeout=1200).returncode
    return 0


def reweb_local(args: list[str]) -> dict[str, object]:
    port = os.environ["REWEB_LOCAL_PORT"]
    process = subprocess.Popen([sys.executable, "-m", "reweb", "local", *args], start_new_session=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    answer: dict[str, object] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
                    answer = {"status": response.status, "body": response.read().decode()}
                break
            except urllib.error.HTTPError as exc:
                answer = {"status": exc.code, "body": exc.read().decode(errors="replace")}
                break
            except OSError:
                time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    return answer


def main() -> int:
    tool, args = sys.argv[1], sys.argv[2:]
    stdin = "" if sys.stdin.isatty() else sys.stdin.read() if args[:1] == ["login"] else ""
    entry: dict[str, object] = {"tool": tool, "args": args, "cwd": os.getcwd(),
                                "region": os.environ.get("AWS_REGION"), "stdin": stdin}
    if tool == "aws":
        status = aws(args)
    elif tool == "docker":
        status = docker(args)
    elif tool == "terraform":
        status = 0
        if "output" in args:
            print(URL)
    elif tool == "reweb" and args[:1] == ["local"]:
        entry["answer"] = reweb_local(args[1:])
        status = 0
    else:
        status = 0
    entry["status"] = status
    record(**entry)
    return status


if __name__ == "__main__":
    sys.exit(main())
