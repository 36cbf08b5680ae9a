"""Secrets into the app's environment at init, end to end under the real RIE, against moto's server (a real
HTTP implementation of SSM and Secrets Manager on loopback; it checks no signature: the signer is checked
against botocore in tests/unit/test_aws_sigv4.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.moto_server import client, moto_server
from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration
APP = """import http.server, json, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({k: v for k, v in os.environ.items() if k.startswith("APP_")}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""
EVENT = {"version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": {"host": "x"},
         "requestContext": {"http": {"method": "GET", "path": "/"}, "stage": "$default"}}
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret-key-for-moto", "AWS_SESSION_TOKEN": "",
        "AWS_REGION": "eu-west-1"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield fill(url)


def fill(url: str) -> str:
    """The parameters and secrets the tests read, on moto's server at `url`."""
    ssm = client("ssm", url, "eu-west-1")
    for i in range(12):  # more than one GetParameters batch (10 names)
        ssm.put_parameter(Name=f"/app/plain-{i}", Value=f"plain value {i}", Type="String")
    ssm.put_parameter(Name="/app/db-password", Value="s3cr3t-Ünïcode ✓", Type="SecureString")
    sm = client("secretsmanager", url, "eu-west-1")
    sm.create_secret(Name="app/api", SecretString=json.dumps({"token": "tok-123", "user": "svc"}))
    sm.create_secret(Name="app/whole", SecretString="just a string")
    sm.create_secret(Name="app/nul", SecretString="before\x00after")  # no environment can carry a NUL
    # Three versions and a label: selectors name one of them, and GetParameters answers with the bare name.
    for value in ("first", "second", "third"):
        ssm.put_parameter(Name="/app/versioned", Value=value, Type="SecureString", Overwrite=True)
    ssm.label_parameter_version(Name="/app/versioned", ParameterVersion=1, Labels=["stable"])
    ssm.put_parameter(Name="/app/json", Value=json.dumps({"token": "json-one"}), Type="String")
    ssm.put_parameter(Name="/app/json", Value=json.dumps({"token": "json-two"}), Type="String", Overwrite=True)
    return url


def run(tmp_path: Path, moto_url: str, secrets: dict[str, str]) -> RieFunction:
    (tmp_path / "app.py").write_text(APP)
    port = free_port()
    return RieFunction({**KEYS, "AWS_ENDPOINT_URL": moto_url, "REWEB_APPLICATION_PORT": str(port),
                        "REWEB_APPLICATION_EXEC": f"{sys.executable} {tmp_path / 'app.py'} {port}", **secrets})


def test_secrets_of_every_form_reach_the_app(tmp_path: Path, moto_url: str) -> None:
    secrets = {f"REWEB_SECRET_APP_PLAIN_{i}": f"ssm:/app/plain-{i}" for i in range(12)}
    secrets |= {"REWEB_SECRET_APP_DB_PASSWORD": "ssm:/app/db-password",
                "REWEB_SECRET_APP_TOKEN": "secretsmanager:app/api#token",
                "REWEB_SECRET_APP_WHOLE": "secretsmanager:app/whole"}
    function = run(tmp_path, moto_url, secrets)
    try:
        seen = json.loads(function.invoke(EVENT)["body"])
        assert seen["APP_DB_PASSWORD"] == "s3cr3t-Ünïcode ✓"  # SecureString, decrypted
        assert seen["APP_TOKEN"] == "tok-123" and seen["APP_WHOLE"] == "just a string"
        assert all(seen[f"APP_PLAIN_{i}"] == f"plain value {i}" for i in range(12))
        logs = function.logs_with("secrets read")
        assert "s3cr3t" not in logs and "tok-123" not in logs  # names in the log, never values
    finally:
        function.close()


@pytest.mark.parametrize(("value", "expected"), [
    ("ssm:/app/missing", "REWEB_SECRET_APP_X: the SSM parameter '/app/missing' does not exist"),
    ("secretsmanager:app/missing", "REWEB_SECRET_APP_X: secretsmanager: ResourceNotFoundException"),
    ("secretsmanager:app/api#nokey", "REWEB_SECRET_APP_X: the value is not a JSON object with a string"),
    ("vault:app/api", "REWEB_SECRET_APP_X: expected ssm:<parameter name or ARN>"),
])
def test_a_bad_secret_fails_init_naming_the_variable(tmp_path: Path, moto_url: str, value: str,
                                                      expected: str) -> None:
    function = run(tmp_path, moto_url, {"REWEB_SECRET_APP_X": value, "REWEB_SECRET_APP_OK": "ssm:/app/db-password"})
    try:
        function.invoke_raw(json.dumps(EVENT).encode(), timeout=20)
        logs = function.logs_with(expected)
        assert expected in logs, logs
        assert "Runtime.SecretError" in logs or "a secret could not be read" in logs
        assert "s3cr3t" not in logs and "tok-123" not in logs
    finally:
        function.close()


def test_ssm_version_and_label_selectors_pick_their_version(tmp_path: Path, moto_url: str) -> None:
    """`ssm:/name:3` and `ssm:/name:label`: the answer's Name has no selector, and the same parameter may be
    asked for in several versions at once (each a variable of its own)."""
    secrets = {"REWEB_SECRET_APP_V1": "ssm:/app/versioned:1", "REWEB_SECRET_APP_V2": "ssm:/app/versioned:2",
               "REWEB_SECRET_APP_STABLE": "ssm:/app/versioned:stable", "REWEB_SECRET_APP_LATEST": "ssm:/app/versioned",
               "REWEB_SECRET_APP_JSON_V1": "ssm:/app/json:1#token", "REWEB_SECRET_APP_JSON": "ssm:/app/json#token"}
    function = run(tmp_path, moto_url, secrets)
    try:
        answer = function.invoke(EVENT)
        assert "body" in answer, function.logs()
        seen = json.loads(answer["body"])
        assert {k: seen.get(k) for k in ("APP_V1", "APP_V2", "APP_STABLE", "APP_LATEST", "APP_JSON_V1", "APP_JSON")} \
            == {"APP_V1": "first", "APP_V2": "second", "APP_STABLE": "first", "APP_LATEST": "third",
                "APP_JSON_V1": "json-one", "APP_JSON": "json-two"}
    finally:
        function.close()


def test_a_missing_version_fails_init_naming_the_variable(tmp_path: Path, moto_url: str) -> None:
    function = run(tmp_path, moto_url, {"REWEB_SECRET_APP_X": "ssm:/app/versioned:9"})
    try:
        function.invoke_raw(json.dumps(EVENT).encode(), timeout=20)
        expected = "REWEB_SECRET_APP_X: the SSM parameter '/app/versioned:9' does not exist"
        logs = function.logs_with(expected)
        assert expected in logs, logs
    finally:
        function.close()


def test_a_secret_holding_a_nul_fails_init_naming_the_variable_not_the_value(tmp_path: Path, moto_url: str) -> None:
    """execve cannot pass a NUL in an environment value: an init error naming the variable, no traceback."""
    function = run(tmp_path, moto_url, {"REWEB_SECRET_APP_NUL": "secretsmanager:app/nul"})
    try:
        answer = function.invoke(EVENT, timeout=20)  # the init error, as Lambda hands it to the caller
        logs = function.logs_with("REWEB_SECRET_APP_NUL")
        assert answer.get("errorType") == "Runtime.SecretError", (answer, logs)
        assert "REWEB_SECRET_APP_NUL" in answer["errorMessage"] and "NUL" in answer["errorMessage"]
        assert "REWEB_SECRET_APP_NUL: the value holds a NUL" in logs and "Traceback" not in logs, logs
        assert "before" not in logs + json.dumps(answer) and "after" not in logs + json.dumps(answer)
    finally:
        function.close()
