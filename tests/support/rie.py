"""The real AWS Lambda Runtime Interface Emulator, from the aws-sam-cli wheel on PyPI, and a harness to
run reweb under it. The binary is cached under ~/.cache/reweb (or $REWEB_CACHE)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from reweb.local.ports import free_port as free_port  # re-exported: the tests import it from here
from tests.support.runtime import reweb_argv

SAM_CLI_VERSION = "1.170.0"
MEMBER = "samcli/local/rapid/aws-lambda-rie-x86_64"


def cache_dir() -> Path:
    path = Path(os.environ.get("REWEB_CACHE", Path.home() / ".cache" / "reweb"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def rie_binary() -> Path:
    target = cache_dir() / f"aws-lambda-rie-x86_64-{SAM_CLI_VERSION}"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
                        f"aws-sam-cli=={SAM_CLI_VERSION}"], check=True)
        wheel = next(Path(tmp).glob("aws_sam_cli-*.whl"))
        partial = target.with_suffix(".tmp")
        with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
    target.with_suffix(".tmp").chmod(0o755)
    target.with_suffix(".tmp").rename(target)
    return target


class RieFunction:
    """reweb as the bootstrap of a real RIE, with its own app; invoke() sends one event."""

    def __init__(self, env: dict[str, str], timeout_s: int = 30, args: tuple[str, ...] = (),
                 command: list[str] | None = None) -> None:
        """command: what the RIE starts as the runtime (default: reweb, then `args`)."""
        self.port = free_port()
        self.api_port = free_port()
        self.log_path = Path(tempfile.mkstemp(prefix="reweb-rie-", suffix=".log")[1])
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("REWEB_", "AWS_LWA_"))}
        full_env.update({"AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s), "AWS_LAMBDA_FUNCTION_NAME": "reweb-test"})
        full_env.update(env)
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [str(rie_binary()), "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
             "--runtime-api-address", f"127.0.0.1:{self.api_port}", *(command or [*reweb_argv(), *args])],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("RIE did not start: " + self.logs()) from None
                time.sleep(0.02)

    def reweb_pid(self) -> int | None:
        """The runtime the RIE started (its child whose command line names reweb), None while there is none."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_bytes()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2:].split()[1]) == self.process.pid and b"reweb" in cmdline:
                return int(entry.name)
        return None

    def invoke_raw(self, payload: bytes, timeout: float = 60) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations", data=payload, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def invoke(self, event: Any, timeout: float = 60) -> Any:
        _status, body = self.invoke_raw(json.dumps(event).encode(), timeout)
        return json.loads(body)

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def logs_with(self, *needles: str, timeout: float = 20.0) -> str:
        """The log once every needle is in it: the RIE relays the runtime's output asynchronously, so a line
        written before the result can still be on its way when the result arrives (on a loaded machine, seconds:
        the wait ends as soon as every needle is there)."""
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs()
            if all(needle in logs for needle in needles) or time.monotonic() > deadline:
                return logs
            time.sleep(0.05)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.log.close()
        self.log_path.unlink(missing_ok=True)
