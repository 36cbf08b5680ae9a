"""Settings: read once at start from the environment (and `reweb` flags), frozen afterwards.

Every setting has a REWEB_* name; the original re:Web names keep their meaning and AWS Lambda Web Adapter's
AWS_LWA_* names are accepted as aliases, so an image can switch adapters without changing its environment.
A bad value raises ConfigError naming the variable; it never surfaces as a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any


class ConfigError(ValueError):
    """A setting has a value reweb cannot use; the message names the variable."""


def parse_reweb_flag(text: str) -> bool:
    """re:Web's switches (REWEB_FORCE_GZIP, REWEB_DEBUG): re:Web took any non-empty value as on, so every value
    its users set still starts; only an explicit off word (false, 0, no, off) turns them off."""
    return text.strip().lower() not in ("0", "false", "no", "off", "")


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _int(text: str, what: str) -> int:
    """Plain ASCII digits only: int() would also take "8_080", "+80" and non-ASCII digits."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"expected {what}, got {text!r}")
    return int(value)


def parse_port(text: str) -> int:
    port = _int(text, "a port number")
    if not 1024 <= port <= 65535:
        raise ValueError(f"port must be between 1024 and 65535 (Lambda forbids lower ports), got {port}")
    return port


def parse_status_set(text: str) -> frozenset[int]:
    """"200", "200,204", "200-399,404" -> the set of status codes. Empty -> empty set."""
    codes: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        low, sep, high = part.partition("-")
        try:
            first = _int(low, "a status code")
            last = _int(high, "a status code") if sep else first
        except ValueError:
            raise ValueError(f"{part!r} is not a status code or range between 100 and 599") from None
        if not (100 <= first <= last <= 599):
            raise ValueError(f"{part!r} is not a status code or range between 100 and 599")
        codes.update(range(first, last + 1))
    return frozenset(codes)


def parse_wait_codes(text: str) -> frozenset[int]:
    codes = parse_status_set(text)
    if not codes:
        raise ValueError("needs at least one status code")
    return codes


# Bytes a request target cannot hold as they are (RFC 9112 origin-form; `#` would start a fragment, which is never
# sent): percent-encoded, as AWS Lambda Web Adapter's URL parser does. `%` is kept when it starts an escape.
_ENCODED = frozenset(b' "#<>\\^`{|}') | frozenset(range(0x80, 0x100))
_HEX = frozenset(b"0123456789abcdefABCDEF")
_CHECKED = frozenset(' "#<>\\^`{|}%')


def _request_path(text: str, path: str) -> str:
    """`path` as it can go into a request target: a control character (tab, CR, LF, NUL, DEL...) is refused, since
    no path means one (LWA drops tab, CR and LF silently, so it would poll a path other than the one written);
    a space, non-ASCII text (as UTF-8), a stray `%` and the other bytes a target cannot hold are percent-encoded."""
    if path.isascii() and path.isprintable() and not _CHECKED.intersection(path):
        return path  # the usual case: nothing to do
    if any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in path):
        raise ValueError(f"must not hold control characters (tab, CR, LF...), got {text!r}")
    try:
        raw = path.encode("utf-8", "surrogateescape")  # undecodable bytes in the environment, as they were
    except UnicodeEncodeError:
        raise ValueError(f"is not text a path can hold, got {text!r}") from None
    out: list[str] = []
    for index, byte in enumerate(raw):
        escape = raw[index + 1:index + 3]
        if byte in _ENCODED or (byte == 0x25 and not (len(escape) == 2 and _HEX.issuperset(escape))):
            out.append(f"%{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def parse_path(text: str) -> str:
    path = text.strip()
    if not path.startswith("/"):
        raise ValueError(f"must start with '/', got {text!r}")
    return _request_path(text, path)


def parse_base_path(text: str) -> str:
    path = text.strip().rstrip("/")
    if path and not path.startswith("/"):
        raise ValueError(f"must start with '/', got {text!r}")
    return _request_path(text, path)  # compared with the request's raw (percent-encoded) path


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {text!r}")
        return value

    return parse


def parse_invoke_mode(text: str) -> str:
    value = text.strip().lower().replace("-", "_")
    if value == "responsestream":
        value = "response_stream"
    return parse_choice("buffered", "response_stream")(value)


def parse_concurrency(text: str) -> int:
    value = _int(text, "a number of workers")
    if not 1 <= value <= 1024:
        raise ValueError(f"must be between 1 and 1024, got {value}")
    return value


def parse_breathing_room(text: str) -> int:
    value = _int(text, "a number of milliseconds")
    if not 0 <= value <= 60000:
        raise ValueError(f"must be between 0 and 60000 ms, got {value}")
    return value


def parse_host(text: str) -> str:
    """The app's loopback address: reweb talks to the app on this machine only. "localhost" is 127.0.0.1 (the
    one-file executable resolves no names)."""
    host = text.strip().strip("[]")
    if host == "localhost":
        return "127.0.0.1"
    if host == "::1" or (host.startswith("127.") and len(host.split(".")) == 4
                         and all(part.isdigit() and int(part) < 256 for part in host.split("."))):
        return host
    raise ValueError(f"must be a loopback address (127.x.x.x, ::1 or localhost), got {text!r}")


def parse_seconds(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise ValueError(f"must be more than 0 and at most 3600 seconds, got {text!r}")
    return value


def parse_header_name(text: str) -> str:
    name = text.strip()
    if name and not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"{text!r} is not a header name")
    return name


MAX_OFFLOAD_EXPIRES = 7 * 24 * 3600  # SigV4's limit for a presigned URL


def parse_bucket(text: str) -> tuple[str, str]:
    """"bucket" or "bucket/some/prefix" -> (bucket, "some/prefix/"). Bucket names by S3's rules."""
    bucket, _, prefix = text.strip().partition("/")
    if not (3 <= len(bucket) <= 63 and bucket.isascii()
            and all(c.islower() or c.isdigit() or c in ".-" for c in bucket)
            and bucket[0].isalnum() and bucket[-1].isalnum()):
        raise ValueError(f"{bucket!r} is not an S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')")
    prefix = prefix.strip("/")
    return bucket, prefix + "/" if prefix else ""


def parse_offload_expires(text: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_OFFLOAD_EXPIRES:
        raise ValueError(f"expected seconds between 1 and {MAX_OFFLOAD_EXPIRES} (7 days, SigV4's limit), got {text!r}")
    return int(value)


class Spec:
    """One setting: its field, its names (reweb's own first, then aliases), default, parser, help text,
    `unset`: the field's value when nothing sets it and the default is "" (off), and `flag`: its `reweb` option,
    if it has one (the one home of the option names: the command line reads FLAGS, errors name spec.flag)."""

    __slots__ = ("default", "field", "flag", "help", "names", "parse", "unset")

    def __init__(self, field: str, names: tuple[str, ...], default: str, parse: Callable[[str], Any],
                 help: str, unset: object = "", flag: str = "") -> None:
        self.field = field
        self.names = names
        self.default = default
        self.parse = parse
        self.help = help
        self.unset = unset
        self.flag = flag

    def default_value(self) -> Any:
        return self.parse(self.default) if self.default else self.unset


# The one table of settings: the README's table mirrors it (a test keeps them in step).
SPECS: tuple[Spec, ...] = (
    Spec("application_exec", ("REWEB_APPLICATION_EXEC",), "",
         str, "Command line that starts the app (executed directly; through /bin/sh -c only if it has shell "
         "syntax), or `reweb -- CMD ARGS`."),
    Spec("port", ("REWEB_APPLICATION_PORT", "AWS_LWA_PORT", "PORT"), "8080",
         parse_port, "Port the app listens on, on 127.0.0.1.", flag="--port"),
    Spec("host", ("REWEB_APPLICATION_HOST", "AWS_LWA_HOST"), "127.0.0.1",
         parse_host, "Loopback address the app listens on: `127.0.0.1`, another `127.x.x.x`, or `::1`."),
    Spec("wait_path", ("REWEB_WAIT_PATH", "AWS_LWA_READINESS_CHECK_PATH", "READINESS_CHECK_PATH"), "/",
         parse_path, "Path polled until the app is ready (spaces and non-ASCII are percent-encoded, as in LWA; "
         "control characters are refused; the other path settings alike).", flag="--wait-path"),
    Spec("wait_codes", ("REWEB_WAIT_CODE", "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS"), "100-499",
         parse_wait_codes, "Status codes that mean ready: `200`, `200,204`, `200-399,404`.", flag="--wait-code"),
    Spec("readiness_protocol", ("REWEB_READINESS_CHECK_PROTOCOL", "AWS_LWA_READINESS_CHECK_PROTOCOL",
                                "READINESS_CHECK_PROTOCOL"), "http",
         parse_choice("http", "tcp"), "`http` (GET the wait path) or `tcp` (port accepts connections).",
         flag="--readiness-protocol"),
    Spec("readiness_port", ("REWEB_READINESS_CHECK_PORT", "AWS_LWA_READINESS_CHECK_PORT", "READINESS_CHECK_PORT"), "",
         parse_port, "Port for the readiness check, if not the app's port."),
    Spec("readiness_timeout", ("REWEB_READINESS_CHECK_TIMEOUT_SECONDS", "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS"),
         "", parse_seconds, "Init fails (with the app's last state) when the app is not ready after this long.",
         unset=0.0),  # no limit of reweb's own (Lambda's init timeout applies)
    Spec("async_init", ("REWEB_ASYNC_INIT", "AWS_LWA_ASYNC_INIT", "ASYNC_INIT"), "false",
         parse_bool, "Stop waiting at 9.8 s of init and finish the wait in the first invocation."),
    Spec("remove_base_path", ("REWEB_REMOVE_BASE_PATH", "AWS_LWA_REMOVE_BASE_PATH", "REMOVE_BASE_PATH"), "",
         parse_base_path, "Path prefix removed from requests (whole segments only), e.g. `/api`.",
         flag="--remove-base-path"),
    Spec("pass_through_path", ("REWEB_PASS_THROUGH_PATH", "AWS_LWA_PASS_THROUGH_PATH"), "/events",
         parse_path, "Where non-HTTP events (SQS, S3, EventBridge...) are POSTed as JSON.",
         flag="--pass-through-path"),
    Spec("enable_compression", ("REWEB_ENABLE_COMPRESSION", "AWS_LWA_ENABLE_COMPRESSION"), "false",
         parse_bool, "Compress text-like responses the client accepts compressed: Brotli where it weighs `br` at "
         "least as high as gzip, else gzip (buffered, and streamed piece by piece)."),
    Spec("force_gzip", ("REWEB_FORCE_GZIP",), "false",
         parse_reweb_flag, "Gzip every response of any type and size, whatever the client accepts (the original "
         "re:Web switch; any value but false/0/no/off is on, as in re:Web); never an answer already encoded, a "
         "part (206, `Content-Range`), `no-transform`, 204, 304 or HEAD."),
    Spec("invoke_mode", ("REWEB_INVOKE_MODE", "AWS_LWA_INVOKE_MODE"), "buffered",
         parse_invoke_mode, "`buffered` or `response_stream` (must match the function URL's invoke mode).",
         flag="--invoke-mode"),
    Spec("authorization_source", ("REWEB_AUTHORIZATION_SOURCE", "AWS_LWA_AUTHORIZATION_SOURCE"), "",
         parse_header_name, "Header whose value is moved into `Authorization`."),
    Spec("error_status_codes", ("REWEB_ERROR_STATUS_CODES", "AWS_LWA_ERROR_STATUS_CODES"), "",
         parse_status_set, "App status codes that become invocation errors (`HttpError`), e.g. `500,502-504`: "
         "the error names the status and carries the first 64 KB of the app's body, whatever its size, buffered or "
         "streamed (such an answer is never streamed).", unset=frozenset()),
    Spec("debug", ("REWEB_DEBUG",), "false",
         parse_reweb_flag, "Log every request and response line (also AWS_LAMBDA_LOG_LEVEL=DEBUG; any value but "
         "false/0/no/off is on, as in re:Web).", flag="--debug"),  # a switch: `--debug` alone sets it
    Spec("pool_idle_timeout", ("REWEB_POOL_IDLE_TIMEOUT_SECONDS", "AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS"), "",
         parse_seconds, "A keep-alive connection to the app idle longer than this is replaced, not reused.",
         unset=0.0),  # an idle connection is reused while the app keeps it open
    Spec("breathing_room_ms", ("REWEB_BREATHING_ROOM_MS",), "0",
         parse_breathing_room, "After each result, wait this long before asking for the next invocation, so "
         "work the app does after answering runs before Lambda freezes the sandbox (the client has its answer "
         "already; the sandbox stays busy that long)."),
    Spec("offload_bucket", ("REWEB_OFFLOAD_BUCKET",), "",
         lambda text: "/".join(filter(None, parse_bucket(text))).rstrip("/"),
         "`bucket` or `bucket/prefix`: a buffered response over the event source's limit (6 MB; ALB 1 MB) is "
         "uploaded there and answered with a redirect to a presigned URL (307 for GET, 303 otherwise)."),
    Spec("offload_expires", ("REWEB_OFFLOAD_EXPIRES",), "300",
         parse_offload_expires, "Seconds the presigned URL of an offloaded response stays valid (at most 7 "
         "days, and never beyond the function's session credentials)."),
    Spec("snapstart_before_checkpoint_path", ("REWEB_SNAPSTART_BEFORE_CHECKPOINT_PATH",
                                              "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH"), "",
         parse_path, "SnapStart: the app's path POSTed once before the snapshot (close connections, flush); a "
         "failure fails init. Requests from outside for it get 403."),
    Spec("snapstart_after_restore_path", ("REWEB_SNAPSTART_AFTER_RESTORE_PATH", "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"),
         "", parse_path, "SnapStart: the app's path POSTed once after each restore, before the first invocation "
         "(reconnect, reseed); a failure fails the restore. Requests from outside for it get 403."),
    Spec("concurrency", ("AWS_LAMBDA_MAX_CONCURRENCY",), "1",
         parse_concurrency, "Set by Lambda Managed Instances: number of workers polling for invocations."),
)


# The `reweb` options and the field each sets: the command line reads them from here. All take a value but
# `--debug`, a switch (on by its presence).
FLAGS = {spec.flag: spec.field for spec in SPECS if spec.flag}


# LWA's unprefixed names, deprecated by LWA 1.0 (to go in 2.0): still read, with a warning naming the new one.
DEPRECATED = {name: "AWS_LWA_" + name for name in ("READINESS_CHECK_PATH", "READINESS_CHECK_PORT",
                                                   "READINESS_CHECK_PROTOCOL", "ASYNC_INIT", "REMOVE_BASE_PATH")}
# LWA 0.x's lowest unhealthy status (removed in 1.0): taken as REWEB_WAIT_CODE=100-(N-1) when nothing newer is set.
MIN_UNHEALTHY = "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS"


# Derived from SPECS: every field but the command line, which only `reweb -- CMD` sets.
SETTING_FIELDS = ("application_argv", *(spec.field for spec in SPECS))


class Settings:
    """All settings, read once and never changed (a plain frozen class: the dataclasses module would cost
    milliseconds of every cold start). The fields are SPECS': here only their types, for mypy (a test keeps
    the two in step); the class defaults are set from SPECS below the class."""

    application_exec: str
    application_argv: tuple[str, ...]
    port: int
    host: str
    readiness_timeout: float
    pool_idle_timeout: float
    wait_path: str
    wait_codes: frozenset[int]
    readiness_protocol: str
    readiness_port: int | str
    async_init: bool
    remove_base_path: str
    pass_through_path: str
    enable_compression: bool
    force_gzip: bool
    invoke_mode: str
    authorization_source: str
    error_status_codes: frozenset[int]
    debug: bool
    breathing_room_ms: int
    offload_bucket: str  # "bucket" or "bucket/prefix"
    offload_expires: int
    snapstart_before_checkpoint_path: str
    snapstart_after_restore_path: str
    concurrency: int

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            if name not in SETTING_FIELDS:
                raise TypeError(f"Settings has no field {name!r}")
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are read once at start and never changed")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in SETTING_FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in SETTING_FIELDS) + ")"

    @property
    def check_port(self) -> int:
        return self.readiness_port if isinstance(self.readiness_port, int) else self.port

    def authority(self, port: int) -> str:
        """host:port of the app for a Host header or URL (an IPv6 host in brackets)."""
        return f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"

    @property
    def hook_paths(self) -> tuple[str, ...]:
        """The SnapStart hooks' paths: reweb's to call, never a client's."""
        return tuple(p for p in (self.snapstart_before_checkpoint_path, self.snapstart_after_restore_path) if p)

    @property
    def streaming(self) -> bool:
        return self.invoke_mode == "response_stream"


Settings.application_argv = ()
for _spec in SPECS:
    setattr(Settings, _spec.field, _spec.default_value())
del _spec


def given(spec: Spec, env: Mapping[str, str], overrides: Mapping[str, str] | None = None,
          notes: list[str] | None = None) -> tuple[str | None, str | None]:
    """Where a setting comes from and its text as given, (None, None) when nothing sets it: a flag (from
    `overrides`, keyed by field) wins, then its names in order; the readiness codes also from LWA 0.x's lowest
    unhealthy status. Old names add a line to `notes`."""
    source, raw = None, None
    if overrides and spec.field in overrides:
        source, raw = spec.flag or spec.names[0], overrides[spec.field]
    else:
        source = next((name for name in spec.names if env.get(name, "") != ""), None)
        raw = None if source is None else env[source]
    if source in DEPRECATED and notes is not None:
        notes.append(f"{source} is deprecated (as in AWS Lambda Web Adapter 1.0): use {DEPRECATED[source]}")
    if raw is None and spec.field == "wait_codes" and env.get(MIN_UNHEALTHY, "") != "":
        try:
            lowest = int(env[MIN_UNHEALTHY].strip())
        except ValueError:
            raise ConfigError(f"{MIN_UNHEALTHY}: expected a status code, got {env[MIN_UNHEALTHY]!r}") from None
        source, raw = MIN_UNHEALTHY, f"100-{lowest - 1}"
        if notes is not None:
            notes.append(f"{MIN_UNHEALTHY}={lowest} is from AWS Lambda Web Adapter 0.x: taken as "
                         f"AWS_LWA_READINESS_CHECK_HEALTHY_STATUS={raw}; set that instead")
    return source, raw


def load(env: Mapping[str, str], overrides: Mapping[str, str] | None = None,
         argv: tuple[str, ...] = (), warnings: list[str] | None = None) -> Settings:
    """Settings from the environment; `overrides` (from flags, keyed by field) win over it. Names that still
    work but should change add a line to `warnings`."""
    values: dict[str, Any] = {}
    notes = warnings if warnings is not None else []
    for spec in SPECS:
        source, raw = given(spec, env, overrides, notes)
        if raw is None:
            if spec.default == "":
                continue
            raw = spec.default
        try:
            values[spec.field] = spec.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{source or spec.names[0]}: {exc}") from None
    settings = Settings(application_argv=argv, **values)
    if not settings.application_exec and not settings.application_argv:
        raise ConfigError("REWEB_APPLICATION_EXEC: no app to start; set it or run `reweb -- CMD ARGS...`")
    return settings
