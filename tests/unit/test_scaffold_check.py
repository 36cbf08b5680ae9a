"""`reweb init`'s check asks for the wait path as the adapter polls it (config.parse_path), so a path with a space
or non-ASCII text is one the check can send, and the same one (tests/local/test_newcomer_init_check.py runs it)."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from reweb.config import load
from reweb.scaffold.check import probe_path, ready_codes
from reweb.scaffold.plan import Plan, ScaffoldError

PATHS = ["/", "/healthz", "/ready now", "/état/prêt", "/a%20b", "/100%", "/q?x=a b&y=é", "/日本"]


def _plan(wait_path: str, env: dict[str, str] | None = None) -> Plan:
    return Plan(command=["app"], front_door="function-url", name="app", out=Path("out"), context=Path("."),
                wait_path=wait_path, env=env or {})


@pytest.mark.parametrize("wait_path", PATHS)
def test_the_check_asks_for_what_the_adapter_polls(wait_path: str) -> None:
    path = probe_path(_plan(wait_path))
    assert path == load({"REWEB_WAIT_PATH": wait_path}, argv=("app",)).wait_path
    request = http.client.HTTPConnection("127.0.0.1", 9)  # never connected: putrequest only builds the line
    request.putrequest("GET", path, skip_host=True)  # the raw text fails here: a space, or not ASCII


def test_a_path_the_adapter_refuses_is_one_line() -> None:
    with pytest.raises(ScaffoldError, match=r"^--wait-path must not hold control characters"):
        probe_path(_plan("/ready\tnow"))


@pytest.mark.parametrize(("env", "named"), [
    ({}, "100-499"),
    ({"REWEB_WAIT_CODE": "200,204"}, "200,204"),
    ({"AWS_LWA_READINESS_CHECK_HEALTHY_STATUS": "200-399"}, "200-399"),
    ({"REWEB_WAIT_CODE": "", "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS": "204"}, "204"),  # empty is unset
    ({"AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS": "404"}, "100-403"),  # LWA 0.x's name, as load reads it
])
def test_the_init_timeout_names_the_codes_the_instance_waits_for(env: dict[str, str], named: str) -> None:
    codes = ready_codes(_plan("/", env))
    assert codes == named
    assert load(env, argv=("app",)).wait_codes == load({"REWEB_WAIT_CODE": codes}, argv=("app",)).wait_codes
