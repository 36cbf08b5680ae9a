"""`reweb local --https`: TLS with a certificate for 127.0.0.1, ::1 and localhost, signed by a CA made at first use
under the user's cache directory and printed with how to trust it; the app sees https, as behind API Gateway or a
Function URL. Checked with the real curl given the printed CA file, and with Python's own verifying client."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from reweb.local.gateways import Context, Inbound, gateway_for
from reweb.local.options import parse
from tests.support.localharness import APPS, Local, start_local

pytestmark = pytest.mark.timeout(120)

HEADERS_APP = [sys.executable, str(APPS / "untyped_app.py")]


def printed_ca(local: Local) -> Path:
    local.wait_for("curl --cacert")
    with local.changed:
        text = "\n".join(local.lines)
    found = re.search(r"curl --cacert (\S+) https://127\.0\.0\.1:(\d+)/", text)
    assert found, text
    assert int(found.group(2)) == local.port
    return Path(found.group(1))


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "--silent", "--show-error", "--max-time", "30", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_https_works_with_curl_given_the_printed_ca_and_the_app_sees_https(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    local = start_local(["--https", "--concurrency", "1"], app=HEADERS_APP, env={"XDG_CACHE_HOME": str(cache)})
    try:
        ca = printed_ca(local)
        assert ca.is_file() and ca.is_relative_to(cache / "reweb" / "local-tls")
        for host in ("127.0.0.1", "localhost"):
            done = curl("--cacert", str(ca), f"https://{host}:{local.port}/headers")
            assert done.returncode == 0, done.stderr
            seen = {k.lower(): v for k, v in json.loads(done.stdout)}
            assert seen["x-forwarded-proto"] == "https"
            assert seen["x-forwarded-port"] == str(local.port)
        # Without the CA, curl refuses the certificate: the check above was a real verification.
        assert curl(f"https://127.0.0.1:{local.port}/headers").returncode == 60
        # Plain HTTP is not served on that port: it speaks TLS only.
        assert curl(f"http://127.0.0.1:{local.port}/headers").returncode != 0
        for key in ca.parent.glob("*key*"):
            assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        assert stat.S_IMODE(ca.parent.stat().st_mode) == 0o700
    finally:
        local.stop()


@pytest.mark.integration
def test_the_ca_is_made_once_and_reused(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first = start_local(["--https", "--concurrency", "1"], app=HEADERS_APP, env=env)
    try:
        ca = printed_ca(first)
        pem = ca.read_bytes()
        context = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(f"https://127.0.0.1:{first.port}/untyped", context=context, timeout=30) as r:
            assert r.read() == b"no type here"
    finally:
        first.stop()
    second = start_local(["--https", "--concurrency", "1"], app=HEADERS_APP, env=env)
    try:
        assert printed_ca(second) == ca and ca.read_bytes() == pem  # the one the user already trusts
        context = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(f"https://localhost:{second.port}/untyped", context=context, timeout=30) as r:
            assert r.read() == b"no type here"
    finally:
        second.stop()


def test_plain_http_stays_the_default_and_https_is_a_flag_or_env() -> None:
    app = ["--", "true"]
    assert parse(app, env={}).https is False
    assert parse(["--https", *app], env={}).https is True
    assert parse(app, env={"REWEB_LOCAL_HTTPS": "1"}).https is True


@pytest.mark.parametrize("source", ["rest", "http-api", "function-url", "alb", "alb-multi", "lattice"])
def test_every_event_says_https_when_the_listener_does(source: str) -> None:
    ctx = Context(request_id="r", time_epoch_ms=0, trace_id="Root=1-0-0", port=3443, scheme="https")
    event = gateway_for(source).build_event(Inbound("GET", "/", headers=[("X-Forwarded-Proto", "http")]), ctx)
    headers = event.get("headers") or event.get("multiValueHeaders")
    assert isinstance(headers, dict)
    proto = {k.lower(): v for k, v in headers.items()}["x-forwarded-proto"]
    assert proto in ("https", ["https"])  # the client's own value is replaced, never kept
