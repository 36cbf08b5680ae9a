"""The real AWS Lambda Runtime Interface Emulator as a cross-check of the driver's numbers.

`python3 bench/rie.py` only fetches it: the binary ships inside the aws-sam-cli wheel on PyPI, so it is
downloaded with pip (no dependencies) and cached under bench/.cache/ (git-ignored).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from common import BENCH_DIR, HOST, Child, children, cpu_seconds, free_port, percentile, wait_port
from events import Case
from harness import LAMBDA_ENV, adapter_argv, app_command
from report import Report, Table, fmt
from wire import Reader, header

CACHE = BENCH_DIR / ".cache"
BINARY = CACHE / "aws-lambda-rie-x86_64"
INVOKE = "/2015-03-31/functions/function/invocations"


def ensure_rie() -> Path:
    if BINARY.exists():
        return BINARY
    CACHE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "aws-sam-cli", "-d", tmp],
                       check=True, timeout=300)
        wheel = next(Path(tmp).glob("aws_sam_cli-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith("/aws-lambda-rie-x86_64"))
            BINARY.write_bytes(archive.read(member))
        (CACHE / "rie-source.txt").write_text(f"{wheel.name}:{member}\n")
    BINARY.chmod(0o755)
    return BINARY


class RieClient:
    """Keep-alive POSTs of events to the RIE's invoke endpoint."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock)

    def invoke(self, event: bytes) -> tuple[float, bytes]:
        start = time.perf_counter()
        self.sock.sendall(f"POST {INVOKE} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(event)}\r\n\r\n".encode() + event)
        head = self.reader.head().lower()
        body, _ = self.reader.body(head, keep=True)
        elapsed = time.perf_counter() - start
        if header(head, b"connection") == b"close":
            raise ConnectionError("the RIE closed the connection")
        return elapsed, body


def _adapter_pid(rie_pid: int, timeout: float = 10.0) -> int:
    """The adapter runs as the RIE's child: the first descendant that is not the app."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in children(rie_pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"app.py" not in cmdline and b"/bin/sh" not in cmdline:
                return pid
        time.sleep(0.01)
    raise RuntimeError("the adapter process under the RIE was not found")


def rie_crosscheck(adapter: str, quick: bool, report: Report) -> None:
    try:
        binary = ensure_rie()
    except (subprocess.SubprocessError, OSError, StopIteration) as exc:
        table = Table("Cross-check through the real RIE", ["case", "n", "p50 ms", "p99 ms", "adapter CPU us/inv"])
        table.notes.append(f"RIE unavailable: {exc}")
        report.show(table)
        return
    n = 200 if quick else 1000
    rie_port, api_port, app_port = free_port(), free_port(), free_port()
    env = dict(LAMBDA_ENV, REWEB_APPLICATION_EXEC=app_command(app_port), REWEB_APPLICATION_PORT=str(app_port),
               LOG_LEVEL="error")
    argv = [str(binary), "--runtime-interface-emulator-address", f"{HOST}:{rie_port}",
            "--runtime-api-address", f"{HOST}:{api_port}", *adapter_argv(adapter)]
    table = Table("Cross-check through the real RIE (HTTP API v2 event)",
                  ["case", "n", "p50 ms", "p99 ms", "adapter CPU us/inv"])
    with Child(argv, env) as rie:
        if not wait_port(rie_port, 10.0):
            table.notes.append("the RIE did not open its port")
            report.show(table)
            return
        client = RieClient(rie_port)
        for label, case in (("response 1 KB text", Case()), ("response 1 MB text", Case(response_size=1 << 20))):
            event = case.event()
            for _ in range(20):
                client.invoke(event)
            pid = _adapter_pid(rie.pid)
            count = n if case.response_size < 1 << 20 else n // 10
            cpu0 = cpu_seconds(pid)
            latencies = [client.invoke(event)[0] for _ in range(count)]
            cpu = cpu_seconds(pid) - cpu0
            table.add(label, count, fmt(percentile(latencies, 50) * 1e3, 3), fmt(percentile(latencies, 99) * 1e3, 3),
                      fmt(cpu / count * 1e6, 0))
        client.sock.close()
    table.notes.append("latency includes the RIE's own HTTP hop and its Go runtime; compare the CPU column with "
                       "the driver's tables (CPU from /proc/<pid>/stat ticks, 10 ms resolution)")
    report.show(table)


if __name__ == "__main__":
    print(ensure_rie())
