"""The one-file executable's Init, two ways (docs/shipping-notes.md, "Init"; issue 21):

  python3 packaging/init_measure.py instructions EXE...     # callgrind: exec -> first GET /next, 3 runs each
  build/test-venv/bin/python3 packaging/init_measure.py rie N LABEL=EXE...   # RIE INIT REPORT, N rounds

instructions: each EXE runs under valgrind's callgrind with a loopback fake Runtime API (it answers the extension's
register and holds its event/next); when GET /invocation/next arrives, `callgrind_control -d` dumps the count (a
count the machine's load does not move; the dump lands a few hundred thousand instructions late). rie: bench's
sidebyside.UnderRie, the real RIE with busybox httpd as the app (an app ready at once), INIT REPORT durationMs,
executables taken in turns (ABBA). Runs interleaved; prints the figures and the load average."""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WWW = ROOT / "bench" / ".cache" / "www"
LAMBDA_ENV = {"AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
              "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "AWS_REGION": "us-east-1",
              "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench", "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
              "AWS_LAMBDA_FUNCTION_TIMEOUT": "60"}


def _serve(conn: socket.socket, got_next: threading.Event) -> None:
    conn.settimeout(120)
    data = b""
    try:
        while True:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            found = re.search(rb"content-length: *(\d+)", head, re.I)
            length = int(found.group(1)) if found else 0
            while len(data) < length:
                data += conn.recv(65536)
            data = data[length:]
            line = head.split(b"\r\n")[0]
            if b"/extension/register" in line:
                conn.sendall(b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: x\r\nContent-Length: 2\r\n\r\n{}")
            elif b"/invocation/next" in line:
                got_next.set()
                return
            else:
                time.sleep(60)  # event/next: held
                return
    except OSError:
        return


def instructions(exe: str) -> int:
    """Instructions from exec to the first GET /next (callgrind)."""
    tmp = tempfile.mkdtemp(prefix="init-measure-")
    server = socket.create_server(("127.0.0.1", 0))
    with socket.create_server(("127.0.0.1", 0)) as probe:
        app_port = probe.getsockname()[1]
    WWW.mkdir(parents=True, exist_ok=True)
    (WWW / "index.html").write_text("ready\n")
    env = {"PATH": "/usr/bin:/bin", **LAMBDA_ENV, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.getsockname()[1]}",
           "REWEB_APPLICATION_EXEC": f"exec busybox httpd -f -p 127.0.0.1:{app_port} -h {WWW}",
           "REWEB_APPLICATION_PORT": str(app_port)}
    got_next = threading.Event()

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_serve, args=(conn, got_next), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    with open(f"{tmp}/stderr", "wb") as err:
        child = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.%p", exe], env=env,
                                 stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        if not got_next.wait(180):
            raise RuntimeError(f"{exe}: no GET /next within 180 s: {Path(tmp, 'stderr').read_text()[-800:]}")
        subprocess.run(["callgrind_control", "-d", str(child.pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        dump = ""
        for _ in range(300):
            if files := glob.glob(f"{tmp}/cg.{child.pid}.*"):
                time.sleep(0.5)  # written in full
                dump = files[0]
                break
            time.sleep(0.1)
        found = re.search(r"^(?:summary|totals): (\d+)", Path(dump).read_text(), re.M) if dump else None
        if not found:
            raise RuntimeError(f"{exe}: no callgrind dump")
        return int(found.group(1))
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)


def rie(rounds: int, specs: list[str]) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import sidebyside as sb  # type: ignore[import-not-found]  # bench's: the RIE (tests/support/rie.py caches it)
    from events import Case  # type: ignore[import-not-found]

    runtimes = [sb.Runtime(label, label, [exe], {}) for label, _, exe in (s.partition("=") for s in specs)]
    command, marker, _ = sb.ready_app()
    values: dict[str, list[float]] = {r.key: [] for r in runtimes}
    loads = []
    for i in range(rounds + 1):  # round 0 untimed: caches filled
        for runtime in runtimes if i % 2 else runtimes[::-1]:
            port = sb.free_port()
            with sb.UnderRie(runtime, command.replace("$REWEB_APPLICATION_PORT", str(port)), port, marker) as run:
                run.invoke(Case(response_size=0).event())
                init = run.init_ms()
            if i and init is not None:
                values[runtime.key].append(init)
        loads.append(os.getloadavg()[0])
    for key, got in values.items():
        quartiles = statistics.quantiles(got, n=4)
        print(f"{key}: INIT REPORT median {statistics.median(got):.1f} ms [min {min(got):.1f}, q1 {quartiles[0]:.1f}, "
              f"q3 {quartiles[2]:.1f}, max {max(got):.1f}] n={len(got)}")
    print(f"load average (1 min) {min(loads):.1f}-{max(loads):.1f}")


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "instructions":
        counts: dict[str, list[int]] = {exe: [] for exe in argv[1:]}
        for _ in range(3):
            for exe in argv[1:]:
                counts[exe].append(instructions(exe))
        for exe, got in counts.items():
            print(f"{exe}: median {statistics.median(got) / 1e6:.2f} M instructions "
                  f"({', '.join(f'{n / 1e6:.2f}' for n in sorted(got))})")
        return 0
    if len(argv) >= 3 and argv[0] == "rie":
        rie(int(argv[1]), argv[2:])
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
