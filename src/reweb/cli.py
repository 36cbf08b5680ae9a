"""`reweb`: the Lambda entrypoint; `reweb local`: the emulator. Nothing imports this module."""

from __future__ import annotations

import gc
import os
import sys
import time

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    import signal as _signal
    from typing import NoReturn

    from .adapter import Adapter
    from .app import App
    from .config import Settings
else:  # the C module: `signal` builds three enums at import (~5% of the executable's init), and only the
    import _signal  # numbers are needed here

USAGE = """usage: reweb [OPTIONS] [-- CMD ARGS...]
       reweb local [LOCAL OPTIONS] -- CMD ARGS...
       reweb init [INIT OPTIONS] -- CMD ARGS...

Runs a web app as an AWS Lambda function: starts CMD (or $REWEB_APPLICATION_EXEC), waits until it answers,
then serves invocations from $AWS_LAMBDA_RUNTIME_API. Every option has an environment twin (see README).

options:
  --port N              app port (REWEB_APPLICATION_PORT)
  --wait-path PATH      readiness path (REWEB_WAIT_PATH)
  --wait-code CODES     readiness codes, e.g. 200-399,404 (REWEB_WAIT_CODE)
  --invoke-mode MODE    buffered or response_stream (REWEB_INVOKE_MODE)
  --readiness-protocol P  http or tcp (REWEB_READINESS_CHECK_PROTOCOL)
  --pass-through-path PATH  where non-HTTP events are POSTed (REWEB_PASS_THROUGH_PATH)
  --remove-base-path PATH   base path removed from every request (REWEB_REMOVE_BASE_PATH)
  --debug               log every request (REWEB_DEBUG)
  -V, --version         print the version (with --verbose: the SBOM of the one-file build)
  -h, --help            this text; `reweb local --help` for the emulator, `reweb init --help` for a deployable
                        folder (Dockerfile, SAM or Terraform template)
"""

INIT_ASYNC_LIMIT = 9.8  # Lambda gives init 10 s; stop just before and finish inside the first invocation
SHUTDOWN_GRACE = 0.35  # seconds between the app's SIGTERM and its SIGKILL at shutdown (Lambda allows 0.5)


def parse_args(argv: list[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Hand-rolled: argparse costs milliseconds of import on every cold start. The options and their fields are
    config.FLAGS (loaded by init's first step anyway), so a bad value's error names the option given."""
    from .config import FLAGS

    overrides: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return overrides, tuple(argv[i + 1:])
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        if arg in ("-V", "--version"):
            from . import __version__

            sys.stdout.write(f"reweb {__version__}\n")
            if "--verbose" in argv or "-v" in argv:
                sys.stdout.write(_build_sbom())
            raise SystemExit(0)
        if FLAGS.get(arg) == "debug":  # the one switch
            overrides["debug"] = "true"
            i += 1
            continue
        name, eq, value = arg.partition("=")
        field = FLAGS.get(name)
        if field and field != "debug":  # the switch takes no value: `--debug=...` is unknown, as before
            if not eq:
                if i + 1 >= len(argv):
                    raise SystemExit(f"reweb: {name} needs a value")
                value = argv[i + 1]
                i += 1
            overrides[field] = value
            i += 1
            continue
        if not arg.startswith("-"):
            return overrides, tuple(argv[i:])  # the command itself, without "--"
        raise SystemExit(f"reweb: unknown option {arg}\n{USAGE}")
    return overrides, ()


def _build_sbom() -> str:
    """The one-file executable's CycloneDX SBOM (scripts/build puts it in the zip appended to the executable,
    whose modules are frozen in), else a note."""
    data = b""
    if __spec__.origin == "frozen":
        import contextlib
        import zipimport

        with contextlib.suppress(OSError, zipimport.ZipImportError):
            data = zipimport.zipimporter(sys.executable).get_data("reweb/sbom.cdx.json")
    if not data:
        return "no SBOM: this reweb is not the one-file executable (see pip's metadata for its packages)\n"
    return data.decode()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "local":
        try:
            from .local.main import main as local_main
        except ModuleNotFoundError as exc:  # the [local] extra (aiohttp), or the one-file executable
            sys.stderr.write(f"reweb local needs what this installation of reweb lacks ({exc.name}): its [local] "
                             "extra, from a checkout: pip install -e '.[local]' (from PyPI after the first release: "
                             "pip install 'reweb-lambda[local]'); the one-file executable has only the adapter\n")
            return 2
        return local_main(args[1:])
    if args and args[0] == "init":
        try:
            from .scaffold import main as init_main  # not on the adapter's path: only `reweb init` loads it
        except ModuleNotFoundError:  # the one-file executable leaves it out: it needs reweb local and templates
            sys.stderr.write("reweb init runs from a pip installation of reweb (a checkout: pip install -e "
                             "'.[local]'); the one-file executable has only the adapter\n")
            return 2
        return init_main(args[1:])
    end_process(run_adapter(args))


def process_age() -> float:
    """Seconds since this process started: Lambda's 10 s of init count from there, not from our first line
    (the interpreter's own start can take a few hundred ms on a cold sandbox)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        start_ticks = int(stat[stat.rfind(b")") + 2:].split()[19])  # field 22, starttime
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    return min(max(age, 0.0), 5.0)  # a 10 ms clock: never negative, never absurd


class InitFailure(Exception):
    """Init cannot go on. Reported in one place (run_adapter): the `headline` log line with `reason`, then
    POST /runtime/init/error with `error_type` and `message` (none without an error type: nowhere to report, or
    already reported), then the app stopped if `stop_app`; reweb exits with `status`."""

    def __init__(self, error_type: str, message: str, headline: str = "", reason: str = "",
                 stop_app: bool = False, status: int = 1) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.headline = headline
        self.reason = reason
        self.stop_app = stop_app
        self.status = status


def run_adapter(args: list[str]) -> int:
    """Lambda's init as five steps, as AWS Lambda Web Adapter's main: settings, the app, the adapter, the wait
    for readiness, SnapStart's snapshot; then the invocations."""
    # No cyclic garbage collection during init: it only creates objects that live on (modules, classes), and
    # the collector would walk them again and again (6% of init's instructions). After init they are frozen
    # (left out of every later collection) and collection is on again.
    gc.disable()
    init = _Init(args)
    try:
        init.read_settings()
        init.start_app()
        init.make_adapter()
        init.wait_for_app()
        init.snapshot()
    except InitFailure as failure:
        return init.failed(failure)
    finally:
        gc.freeze()
        gc.enable()
    try:
        return init.adapter.run()
    finally:
        init.app.stop(grace=1.0)


def end_process(status: int) -> NoReturn:
    """The adapter's end, whether init failed or the invocations ended: its output flushed, then _exit, never the
    interpreter's finalization. Daemon threads (the other workers, the reaper, the extension's wait) may be in the
    middle of a log line; finalizing around them can abort the process ("Fatal Python error: _enter_buffered_busy",
    seen with four workers under load: status -6 instead of 1)."""
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (contextlib is not imported on the adapter's path)
            stream.flush()
        except (OSError, ValueError, AttributeError):  # closed, or None: nothing to keep
            pass
    os._exit(status)


class _Init:
    """What the init steps share; each step raises InitFailure rather than reporting and returning."""

    adapter: Adapter
    app: App
    settings: Settings

    def __init__(self, args: list[str]) -> None:
        self.started = time.monotonic() - process_age()
        self.args = args
        from .log import Log

        self.log = Log.from_env()
        self.address = self.lambda_address = ""
        self.snapstart = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"

    def failed(self, failure: InitFailure) -> int:
        if failure.headline:
            if failure.reason:
                self.log.error(failure.headline, reason=failure.reason)
            else:
                self.log.error(failure.headline)
        if failure.error_type:
            _report_init_error(self.address, failure.error_type, failure.message, self.log)
        if failure.stop_app:
            self.app.stop(grace=0.3)
        return failure.status

    def read_settings(self) -> None:
        from .config import ConfigError, load
        from .log import Log

        overrides, command = parse_args(self.args)  # first: --help and a bad option answer anywhere
        # AWS_LWA_LAMBDA_RUNTIME_API_PROXY: Runtime API calls through a proxy (as monitoring extensions want
        # them); the Extensions API stays Lambda's own.
        self.lambda_address = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
        self.address = os.environ.get("AWS_LWA_LAMBDA_RUNTIME_API_PROXY", "") or self.lambda_address
        if not self.address:
            raise InitFailure("", "", "AWS_LAMBDA_RUNTIME_API is not set: reweb runs inside AWS Lambda; "
                              "to try an app on this machine use `reweb local -- CMD`", status=2)
        warnings: list[str] = []
        try:
            self.settings = load(os.environ, overrides, command, warnings)
        except ConfigError as exc:
            raise InitFailure("Runtime.InvalidConfiguration", str(exc), "configuration error", str(exc)) from None
        if self.settings.debug:
            self.log = Log.from_env(debug=True)
        for warning in warnings:
            self.log.warn(warning)

    def start_app(self) -> None:
        # The app is spawned as early as the configuration allows: only what starting it needs is imported
        # before; the rest of reweb (adapter, events, Runtime API client) loads while the app starts, so a cold
        # start waits for the slower of the two, not for their sum.
        from .app import App, AppStartError

        log = self.log
        app = self.app = App(self.settings, log)

        def shutdown(signum: int, _frame: object) -> None:
            # Lambda allows 500 ms after SIGTERM (internal extension): the app gets most of it, then SIGKILL.
            log.info("shutting down", signal="SIGTERM" if signum == _signal.SIGTERM else "SIGINT")
            app.stop(grace=SHUTDOWN_GRACE)
            end_process(0)

        _signal.signal(_signal.SIGTERM, shutdown)
        _signal.signal(_signal.SIGINT, shutdown)
        if any(name.startswith("REWEB_SECRET_") for name in os.environ):  # else nothing of it is even imported
            from .secrets import SecretError, resolve

            try:
                app.extra_env = resolve(os.environ)
            except SecretError as exc:
                raise InitFailure("Runtime.SecretError", f"reweb: {exc}", "a secret could not be read",
                                  str(exc)) from None
            log.info("secrets read into the app's environment", names=",".join(sorted(app.extra_env)))
        try:
            app.start()
        except AppStartError as exc:
            raise InitFailure("Runtime.AppStartError", f"reweb: {exc}", "the app could not be started",
                              str(exc)) from None

    def make_adapter(self) -> None:
        from .extension import Registration

        # Sent before the adapter's modules load, its answer read after: Lambda answers meanwhile. After the
        # app's start: the lifeline is forked before any thread exists (finish() starts the extension's).
        registration = Registration(self.lambda_address or self.address, self.log)
        from .adapter import Adapter

        env_config = {
            "function_name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            "memory": int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0") or 0),
            "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
            "log_stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
            "log_group": os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        }
        self.adapter = Adapter(self.settings, self.log, self.address, env_config, self.app)
        registration.finish()

    def wait_for_app(self) -> None:
        from .app import AppExited

        settings, app = self.settings, self.app
        give_up = self.started + settings.readiness_timeout if settings.readiness_timeout else float("inf")
        # Under SnapStart init may take minutes (it runs once, when a version is published): no async init there.
        limit = min(self.started + INIT_ASYNC_LIMIT if settings.async_init and not self.snapstart else float("inf"),
                    give_up)
        try:
            ready = app.wait_ready(limit)
        except AppExited as exc:
            raise InitFailure("Runtime.AppExited", f"{exc} during init", "the app exited during init",
                              str(exc)) from None
        if not ready:
            if time.monotonic() >= give_up:
                message = (f"the app was not ready after {settings.readiness_timeout:g} s "
                           f"(REWEB_READINESS_CHECK_TIMEOUT_SECONDS); last check: {app.last_check}")
                raise InitFailure("Runtime.AppNotReady", f"reweb: {message}", "the app is not ready: init fails",
                                  message, stop_app=True)
            self.log.warn("the app is not ready yet; finishing the wait in the first invocation (async init)")
        self.log.info("reweb ready", init_ms=round((time.monotonic() - self.started) * 1000, 1),
                      mode=settings.invoke_mode)

    def snapshot(self) -> None:
        if not self.snapstart:
            return
        from .snapstart import checkpoint_and_restore

        if not checkpoint_and_restore(self.settings, self.address, self.log):
            raise InitFailure("", "", stop_app=True)  # logged and reported to Lambda by snapstart.py


def _report_init_error(address: str, error_type: str, message: str, log: object) -> None:
    from .log import Log
    from .runtime import RuntimeClient  # only on this path: a start that succeeds imports it later

    assert isinstance(log, Log)
    RuntimeClient(address).phase_error("init", error_type, message, log)


if __name__ == "__main__":
    raise SystemExit(main())
