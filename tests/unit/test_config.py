"""config.load: every setting's good and bad values, AWS_LWA_* aliases, precedence, clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from reweb.config import SPECS, ConfigError, Settings, load

APP = {"REWEB_APPLICATION_EXEC": "python app.py"}
# No path means these: refused at start (naming the setting) rather than sent, or silently dropped as LWA does.
CONTROL_PATHS = ["/a\nb", "/a\r\nX-Injected: 1", "/a\tb", "/a\x00b", "/a\x7fb", "/a\x85b"]

# field -> ([(raw, parsed)...], [bad raw...])
CASES: dict[str, tuple[list[tuple[str, Any]], list[str]]] = {
    "application_exec": ([("node server.js --port 8080", "node server.js --port 8080")], []),
    "port": ([("8080", 8080), (" 3000 ", 3000), ("1024", 1024), ("65535", 65535)],
             ["80", "1023", "65536", "http", "", "8080x", "-1", "8_080", "+8080", "\uff18\uff10\uff18\uff10"]),
    "wait_path": ([("/healthz", "/healthz"), ("/", "/"), ("/ready?full=1", "/ready?full=1"),
                   ("/health check", "/health%20check"), ("/caf\u00e9", "/caf%C3%A9"), ("/100%", "/100%25"),
                   ("/a%20b", "/a%20b")], ["healthz", "http://x/", *CONTROL_PATHS]),
    "wait_codes": ([("200", frozenset({200})), ("200,204", frozenset({200, 204})),
                    ("200-202,404", frozenset({200, 201, 202, 404})), (" 200 , 301 ", frozenset({200, 301}))],
                   ["", ",", "abc", "99", "600", "300-200", "200-", "2xx"]),
    "readiness_protocol": ([("http", "http"), ("TCP", "tcp")], ["udp", "https"]),
    "readiness_port": ([("9000", 9000)], ["1", "nope"]),
    "async_init": ([("true", True), ("1", True), ("YES", True), ("on", True), ("false", False), ("0", False),
                    ("off", False)], ["maybe", "2", "truee"]),
    "remove_base_path": ([("/api", "/api"), ("/api/", "/api"), ("/v1/api", "/v1/api"), ("/", ""),
                          ("/my api/", "/my%20api")], ["api", *CONTROL_PATHS]),
    "pass_through_path": ([("/events", "/events"), ("/sqs", "/sqs"), ("/my events", "/my%20events")],
                          ["events", *CONTROL_PATHS]),
    "enable_compression": ([("true", True), ("false", False)], ["gzip"]),
    # re:Web's switches: whatever a re:Web user set is on, except an explicit off word.
    "force_gzip": ([("1", True), ("0", False), ("always", True), ("enabled", True), ("OFF", False)], []),
    "invoke_mode": ([("buffered", "buffered"), ("response_stream", "response_stream"),
                     ("RESPONSE_STREAM", "response_stream"), ("response-stream", "response_stream"),
                     ("ResponseStream", "response_stream")], ["stream", "sync"]),
    "authorization_source": ([("X-Api-Token", "X-Api-Token"), ("x_auth", "x_auth")], ["X Token", "a:b"]),
    "error_status_codes": ([("500", frozenset({500})), ("500,502-504", frozenset({500, 502, 503, 504})),
                            ("", None)], ["5xx", "700"]),
    "debug": ([("true", True), ("false", False), ("verbose", True), ("x", True), ("no", False)], []),
    "host": ([("127.0.0.1", "127.0.0.1"), ("127.0.0.2", "127.0.0.2"), ("::1", "::1"), ("[::1]", "::1"),
              ("localhost", "127.0.0.1")], ["0.0.0.0", "10.0.0.1", "example.com", "127.0.0.300"]),
    "readiness_timeout": ([("5", 5.0), ("0.5", 0.5)], ["0", "-1", "soon", "3601"]),
    "pool_idle_timeout": ([("4", 4.0), ("60", 60.0)], ["0", "never"]),
    "breathing_room_ms": ([("0", 0), ("250", 250), ("60000", 60000)], ["-1", "60001", "1s"]),
    "offload_bucket": ([("my-bucket", "my-bucket"), ("a.b-c/answers/", "a.b-c/answers"),
                        ("b12/x/y", "b12/x/y")], ["ab", "My_Bucket", "-bucket/x", "bücket"]),
    "offload_expires": ([("1", 1), ("300", 300), ("604800", 604800)], ["0", "604801", "5m"]),
    "snapstart_before_checkpoint_path": ([("/__snap/before", "/__snap/before"), ("/snap {x}", "/snap%20%7Bx%7D")],
                                         ["before", "x/y", *CONTROL_PATHS]),
    "snapstart_after_restore_path": ([("/hooks/after-restore", "/hooks/after-restore")], ["after", *CONTROL_PATHS]),
    "concurrency": ([("1", 1), ("64", 64), ("1024", 1024)], ["0", "1025", "many"]),
}
DEFAULTS = Settings()


def test_every_setting_has_cases() -> None:
    assert {spec.field for spec in SPECS} == set(CASES)


GOOD = [(spec, raw, parsed) for spec in SPECS for raw, parsed in CASES[spec.field][0]]
BAD = [(spec, name, raw) for spec in SPECS for name in spec.names for raw in CASES[spec.field][1]]


@pytest.mark.parametrize(("spec", "raw", "parsed"), GOOD, ids=[f"{s.field}={r!r}" for s, r, _ in GOOD])
def test_good_values_under_every_name(spec: Any, raw: str, parsed: Any) -> None:
    for name in spec.names:
        settings = load({**APP, name: raw})
        want = getattr(DEFAULTS, spec.field) if parsed is None else parsed  # "" means unset
        assert getattr(settings, spec.field) == want, name


@pytest.mark.parametrize(("spec", "name", "raw"), BAD, ids=[f"{n}={r!r}" for _, n, r in BAD])
def test_bad_values_name_the_variable(spec: Any, name: str, raw: str) -> None:
    if raw == "":  # an empty variable is the same as an unset one
        assert getattr(load({**APP, name: raw}), spec.field) == getattr(DEFAULTS, spec.field)
        return
    with pytest.raises(ConfigError) as info:
        load({**APP, name: raw})
    assert str(info.value).startswith(name + ":"), str(info.value)
    reason = str(info.value)[len(name) + 1:].strip()
    assert reason and "invalid literal" not in reason, reason  # says what is wrong, in words
    if raw.strip(" ,"):
        assert repr(raw)[1:-1].strip(" ,")[:3] in reason, reason  # and quotes the offending value


def test_defaults() -> None:
    settings = load(APP)
    assert settings == Settings(application_exec="python app.py")
    assert settings.port == 8080 and settings.wait_codes == frozenset(range(100, 500))
    assert settings.check_port == 8080 and not settings.streaming and settings.concurrency == 1


def test_reweb_names_win_over_aliases() -> None:
    for spec in SPECS:
        if len(spec.names) < 2:
            continue
        (raw_a, want_a), (raw_b, _) = (CASES[spec.field][0] * 2)[:2]
        env = {**APP, spec.names[0]: raw_a}
        for alias in spec.names[1:]:
            env[alias] = raw_b
        assert getattr(load(env), spec.field) == (want_a if want_a is not None else getattr(DEFAULTS, spec.field))


def test_lwa_aliases_and_port_order() -> None:
    env = {**APP, "AWS_LWA_PORT": "9001", "PORT": "9002", "AWS_LWA_READINESS_CHECK_PATH": "/up",
           "AWS_LWA_INVOKE_MODE": "response_stream", "AWS_LWA_REMOVE_BASE_PATH": "/prod",
           "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS": "200-299", "AWS_LWA_ASYNC_INIT": "true"}
    settings = load(env)
    assert settings.port == 9001  # AWS_LWA_PORT before the bare PORT
    assert (settings.wait_path, settings.invoke_mode, settings.remove_base_path) == ("/up", "response_stream", "/prod")
    assert settings.wait_codes == frozenset(range(200, 300)) and settings.async_init and settings.streaming
    assert load({**APP, "PORT": "9002"}).port == 9002
    assert load({**APP, "REWEB_APPLICATION_PORT": "", "PORT": "9002"}).port == 9002  # empty = unset


def test_readiness_port_separate_from_app_port() -> None:
    settings = load({**APP, "REWEB_APPLICATION_PORT": "3000", "AWS_LWA_READINESS_CHECK_PORT": "3001"})
    assert (settings.port, settings.check_port) == (3000, 3001)


def test_overrides_win_and_are_named_as_flags() -> None:
    assert load({**APP, "REWEB_APPLICATION_PORT": "3000"}, overrides={"port": "4000"}).port == 4000
    with pytest.raises(ConfigError, match=r"^--port: "):
        load({**APP, "REWEB_APPLICATION_PORT": "3000"}, overrides={"port": "http"})
    with pytest.raises(ConfigError, match=r"^--wait-code: "):  # the real option (not one made from the field)
        load(APP, overrides={"wait_codes": "abc"})


def test_an_app_is_required() -> None:
    with pytest.raises(ConfigError, match="REWEB_APPLICATION_EXEC"):
        load({})
    settings = load({}, argv=("node", "server.js"))
    assert settings.application_argv == ("node", "server.js") and settings.application_exec == ""


def test_config_error_is_a_value_error_with_no_traceback_chain() -> None:
    with pytest.raises(ConfigError) as info:
        load({**APP, "REWEB_APPLICATION_PORT": "x"})
    assert isinstance(info.value, ValueError) and info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(("old", "field", "raw", "parsed"), [
    ("READINESS_CHECK_PATH", "wait_path", "/health", "/health"),
    ("READINESS_CHECK_PORT", "readiness_port", "9001", 9001),
    ("READINESS_CHECK_PROTOCOL", "readiness_protocol", "tcp", "tcp"),
    ("ASYNC_INIT", "async_init", "true", True),
    ("REMOVE_BASE_PATH", "remove_base_path", "/api", "/api"),
])
def test_lwa_deprecated_names_still_work_with_a_warning(old: str, field: str, raw: str, parsed: Any) -> None:
    warnings: list[str] = []
    assert getattr(load({**APP, old: raw}, warnings=warnings), field) == parsed
    assert warnings == [f"{old} is deprecated (as in AWS Lambda Web Adapter 1.0): use AWS_LWA_{old}"]
    warnings.clear()  # the new name wins, and says nothing
    assert getattr(load({**APP, old: "/x" if field.endswith("path") else raw, f"AWS_LWA_{old}": raw},
                        warnings=warnings), field) == parsed
    assert warnings == []


def test_lwa_0x_min_unhealthy_status_becomes_the_healthy_range() -> None:
    warnings: list[str] = []
    settings = load({**APP, "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS": "400"}, warnings=warnings)
    assert settings.wait_codes == frozenset(range(100, 400))
    assert "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=100-399" in warnings[0]
    newer = load({**APP, "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS": "400", "REWEB_WAIT_CODE": "200"})
    assert newer.wait_codes == frozenset({200})
    with pytest.raises(ConfigError, match="AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS"):
        load({**APP, "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS": "four hundred"})


# The defaults as they were written out by hand before they were derived from SPECS (issue 23.5).
WRITTEN_DEFAULTS = {
    "application_exec": "", "application_argv": (), "port": 8080, "host": "127.0.0.1", "readiness_timeout": 0.0,
    "pool_idle_timeout": 0.0, "wait_path": "/", "wait_codes": frozenset(range(100, 500)), "readiness_protocol": "http",
    "readiness_port": "", "async_init": False, "remove_base_path": "", "pass_through_path": "/events",
    "enable_compression": False, "force_gzip": False, "invoke_mode": "buffered", "authorization_source": "",
    "error_status_codes": frozenset(), "debug": False, "breathing_room_ms": 0, "offload_bucket": "",
    "offload_expires": 300, "snapstart_before_checkpoint_path": "", "snapstart_after_restore_path": "",
    "concurrency": 1,
}


def test_settings_defaults_come_from_specs_and_are_those_written_before() -> None:
    defaults = Settings()
    assert {name: getattr(defaults, name) for name in WRITTEN_DEFAULTS} == WRITTEN_DEFAULTS
    for name, value in WRITTEN_DEFAULTS.items():
        assert type(getattr(defaults, name)) is type(value), name


def test_the_typed_fields_of_settings_are_exactly_the_settings_fields() -> None:
    from reweb.config import SETTING_FIELDS

    assert set(Settings.__annotations__) == set(SETTING_FIELDS)  # a field without a type, or a type without a spec
    assert set(SETTING_FIELDS) == set(WRITTEN_DEFAULTS)


PATH_FIELDS = [spec for spec in SPECS if spec.field.endswith("_path")]
# Everything RFC 3986 lets a path and query hold as it is; the rest must come percent-encoded.
TARGET_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?%")


@pytest.mark.parametrize("spec", PATH_FIELDS, ids=[spec.field for spec in PATH_FIELDS])
@pytest.mark.parametrize("raw", ["/health check", '/a"b<c>d', "/a#b", "/x\\y", "/^`{|}", "/caf\u00e9/\u30c6",
                                 "/50%", "/%zz", "/%4", "/x\udcff"])
def test_a_path_setting_is_a_request_target_that_reads_back_as_written(spec: Any, raw: str) -> None:
    from urllib.parse import unquote_to_bytes

    from reweb.http1 import request_head

    path = getattr(load({**APP, spec.names[0]: raw}), spec.field)
    assert set(path) <= TARGET_CHARS, path
    hexdigits = set("0123456789ABCDEFabcdef")
    assert all(set(piece[:2]) <= hexdigits and len(piece) >= 2 for piece in path.split("%")[1:]), path
    request_head("GET", path, [("Host", "x")])  # the one request writer takes it
    assert unquote_to_bytes(path) == raw.encode("utf-8", "surrogateescape")  # and it means what was written
