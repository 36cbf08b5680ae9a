"""`reweb local` flags, with the REWEB_* environment as fallback (flags win)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import dataclass, field

from ..frontdoors import find
from .gateways import SOURCES


def runtime_without_site() -> list[str]:
    """The instance's runtime: this Python with -S (no site module, so no .pth file of this machine runs at each
    instance start: a sandbox's CA hook here imports certifi, ~70 ms; conda, coverage or editable-install hooks
    elsewhere), reweb and its optional pybase64 found where this process found them. That is how the image's
    one-file executable starts on Lambda (no site-packages at all), so Init is not inflated by this machine."""
    import sysconfig

    import reweb

    paths = [os.path.dirname(os.path.dirname(reweb.__file__)), sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"]]
    boot = f"import sys; sys.path[:0] = {paths!r}; from reweb.cli import main; sys.exit(main())"
    return [sys.executable, "-S", "-c", boot]

APP_PORT_VARS = ("REWEB_APPLICATION_PORT", "AWS_LWA_PORT", "PORT")


@dataclass(frozen=True, slots=True)
class Options:
    port: int = 3000
    source: str = "http-api"
    stream: bool = False
    https: bool = False  # serve TLS with a certificate made for 127.0.0.1/localhost; the app sees https, as on AWS
    concurrency: int = 10
    timeout: float = 30.0
    memory: int = 1024
    ephemeral_storage: int = 512  # MB of /tmp per instance (Lambda: 512-10240)
    freeze: bool = True
    idle_ttl: float = 300.0  # seconds an idle instance is kept warm
    init_timeout: float = 10.0
    function_name: str = "reweb-local"
    region: str = "us-east-1"
    app_command: list[str] = field(default_factory=list)
    app_port: int = 8080  # where the app listens: the same in every instance (each has its own network)
    network: str = "isolated"  # "isolated": a network namespace per instance, as on Lambda; "shared": the host's
    snapstart: bool = False  # instances restored from a snapshot made ahead of the requests (Lambda SnapStart)
    # How an instance is started: the real adapter unless REWEB_LOCAL_RUNTIME names another runtime.
    runtime_command: list[str] = field(default_factory=lambda: runtime_without_site())


class UsageError(Exception):
    pass


def _env_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def parse(argv: list[str], env: dict[str, str] | None = None) -> Options:
    env = dict(os.environ) if env is None else env
    if "--" in argv:
        cut = argv.index("--")
        argv, app = argv[:cut], argv[cut + 1:]
    else:
        app = []
    p = argparse.ArgumentParser(
        prog="reweb local",
        description="Run an app behind an emulated AWS front door and Lambda, on 127.0.0.1: open "
                    "http://127.0.0.1:PORT/ and every request goes through the front door, a cold or warm Lambda "
                    "instance and reweb to your app, as on AWS.",
        epilog="example:\n  reweb local --port 3000 --source http-api -- python3 -m http.server 8080 --bind 127.0.0.1\n"
               "  (the app listens on 8080 in every instance: each has a network of its own, as on Lambda)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=int(env.get("REWEB_LOCAL_PORT", "3000")),
                   help="port of the emulated front door on 127.0.0.1 (default: %(default)s)")
    p.add_argument("--source", choices=SOURCES, default=env.get("REWEB_LOCAL_SOURCE", "http-api"),
                   help="which AWS front door to emulate (default: %(default)s)")
    p.add_argument("--app-port", type=int, default=int(next((env[v] for v in APP_PORT_VARS if env.get(v)), "8080")),
                   help="port the app listens on inside each instance (default: %(default)s, or "
                        "REWEB_APPLICATION_PORT/AWS_LWA_PORT/PORT)")
    p.add_argument("--network", choices=("isolated", "shared"), default=env.get("REWEB_LOCAL_NETWORK", "isolated"),
                   help="isolated: each instance has its own loopback-only network, as on Lambda (the app cannot "
                        "reach services on this machine's 127.0.0.1); shared: instances use this machine's "
                        "network, one at a time (default: %(default)s)")
    mode = env.get("REWEB_INVOKE_MODE", env.get("AWS_LWA_INVOKE_MODE", "buffered")).lower()
    p.add_argument("--stream", action="store_true", default=mode == "response_stream",
                   help="invoke with response streaming (function-url and rest only; default: %(default)s)")
    p.add_argument("--https", action="store_true", default=_env_bool(env.get("REWEB_LOCAL_HTTPS", "")),
                   help="serve HTTPS, as every AWS front door does, with a certificate for 127.0.0.1 and localhost "
                        "signed by a CA made at first use under ~/.cache/reweb/local-tls (printed, with how to "
                        "trust it); the app sees X-Forwarded-Proto: https (default: plain HTTP)")
    p.add_argument("--concurrency", type=int, default=int(env.get("REWEB_LOCAL_CONCURRENCY", "10")),
                   help="most instances at once, as reserved concurrency (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=float(env.get("REWEB_LOCAL_TIMEOUT", "30")),
                   help="function timeout in seconds (Lambda: 1-900; default: %(default)s)")
    p.add_argument("--memory", type=int, default=int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")),
                   help="memory size in MB: each instance's memory limit (a cgroup, where this machine allows it); an "
                        "instance over it is killed, as on Lambda (default: %(default)s)")
    p.add_argument("--ephemeral-storage", type=int,
                   default=int(env.get("REWEB_LOCAL_EPHEMERAL_STORAGE", "512")),
                   help="size of each instance's own /tmp in MB, as Lambda's ephemeral storage (512-10240; "
                        "default: %(default)s)")
    p.add_argument("--freeze", action=argparse.BooleanOptionalAction,
                   default=_env_bool(env.get("REWEB_LOCAL_FREEZE", "1")),
                   help="SIGSTOP instances between invocations, as Lambda does (default: %(default)s)")
    p.add_argument("--idle-ttl", type=float, default=float(env.get("REWEB_LOCAL_IDLE_TTL", "300")),
                   help="seconds an idle instance is kept warm before it is reaped (default: %(default)s)")
    p.add_argument("--init-timeout", type=float, default=float(env.get("REWEB_LOCAL_INIT_TIMEOUT", "10")),
                   help=argparse.SUPPRESS)
    p.add_argument("--snapstart", action="store_true", default=_env_bool(env.get("REWEB_LOCAL_SNAPSTART", "")),
                   help="Lambda SnapStart: init once ahead of the requests (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start;"
                        " the app's before-checkpoint hook runs), keep that instance frozen as the snapshot, and "
                        "serve cold starts by restoring it (after-restore hook; REPORT shows Restore Duration)")
    p.add_argument("--function-name", default=env.get("AWS_LAMBDA_FUNCTION_NAME", "reweb-local"),
                   help="the function's name in ARNs and log names (default: %(default)s)")
    p.add_argument("--region", default=env.get("AWS_REGION", "us-east-1"), help="(default: %(default)s)")
    ns = p.parse_args(argv)
    if not app and not env.get("REWEB_APPLICATION_EXEC"):
        raise UsageError("no app to run: give it after `--` (reweb local -- CMD ARGS) or set REWEB_APPLICATION_EXEC")
    door = find(ns.source)
    if ns.stream and not (door and door.streams):
        raise UsageError(f"--stream: {ns.source} cannot carry Lambda response streaming (use function-url or rest)")
    if not 1 <= ns.port <= 65535:
        raise UsageError("--port must be 1-65535")
    if not 1024 < ns.app_port <= 65535:
        raise UsageError("--app-port must be 1025-65535 (Lambda forbids ports below 1024)")
    if ns.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if not 0 < ns.timeout <= 900:
        raise UsageError("--timeout must be in (0, 900] seconds")
    if not 128 <= ns.memory <= 10240:
        raise UsageError("--memory must be 128-10240 MB")
    if not 512 <= ns.ephemeral_storage <= 10240:
        raise UsageError("--ephemeral-storage must be 512-10240 MB")
    runtime = shlex.split(env["REWEB_LOCAL_RUNTIME"]) if env.get("REWEB_LOCAL_RUNTIME") else None
    return Options(
        port=ns.port, source=ns.source, stream=ns.stream, concurrency=ns.concurrency, timeout=ns.timeout,
        https=ns.https,
        memory=ns.memory, freeze=ns.freeze, idle_ttl=ns.idle_ttl, init_timeout=ns.init_timeout,
        function_name=ns.function_name, region=ns.region, app_command=app, app_port=ns.app_port, network=ns.network,
        snapstart=ns.snapstart, ephemeral_storage=ns.ephemeral_storage,
        **({"runtime_command": runtime} if runtime else {}),
    )
