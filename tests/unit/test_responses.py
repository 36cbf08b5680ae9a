"""HttpResponse -> the result each source expects: hand-written cases for the traps, then a property."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit_helpers import SETTINGS, body_of

from reweb import events
from reweb.events.body import encode_body, is_text_type
from reweb.http import HttpResponse

KINDS = {k.name: k for k in events.KINDS if k.http}
WORDPRESS = [("Content-Type", "text/html; charset=UTF-8"),
             ("Set-Cookie", "wordpress_test_cookie=WP%20Cookie%20check; path=/"),
             ("Set-Cookie", "wordpress_logged_in=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"),
             ("Set-Cookie", "wordpress_logged_in=abc%7C123; path=/; httponly"),
             ("Cache-Control", "no-cache"), ("Cache-Control", "must-revalidate"),
             ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive")]
COOKIES = [v for n, v in WORDPRESS if n == "Set-Cookie"]


def response(headers: list[tuple[str, str]] = WORDPRESS, body: bytes = b"<p>hi</p>", status: int = 200,
             reason: str = "") -> HttpResponse:
    return HttpResponse(status, list(headers), body, reason)


def set_cookies_single(result: dict[str, Any]) -> list[str]:
    return [v for k, v in result["headers"].items() if k.lower() == "set-cookie"]


def test_rest_multi_value_headers() -> None:
    result = KINDS["rest"].encode(response())
    assert result == {
        "statusCode": 200,
        "multiValueHeaders": {"Content-Type": ["text/html; charset=UTF-8"], "Set-Cookie": COOKIES,
                              "Cache-Control": ["no-cache", "must-revalidate"]},
        "body": "<p>hi</p>", "isBase64Encoded": False,
    }


def test_http_api_cookies_array_and_joined_headers() -> None:
    result = KINDS["http-api"].encode(response())
    assert result == {
        "statusCode": 200,
        "headers": {"content-type": "text/html; charset=UTF-8", "cache-control": "no-cache, must-revalidate"},
        "cookies": COOKIES, "body": "<p>hi</p>", "isBase64Encoded": False,
    }
    prelude = KINDS["http-api"].prelude(response())  # type: ignore[misc]
    assert prelude == {"statusCode": 200, "cookies": COOKIES,
                       "headers": {"content-type": "text/html; charset=UTF-8",
                                   "cache-control": "no-cache, must-revalidate"}}


@pytest.mark.parametrize("name", ["alb", "lattice-v1"])
def test_single_value_maps_carry_every_cookie_by_case_variants(name: str) -> None:
    result = KINDS[name].encode(response())
    assert set_cookies_single(result) == COOKIES  # two with the same name included
    assert len({k for k in result["headers"] if k.lower() == "set-cookie"}) == 3
    assert result["headers"]["Cache-Control"] == "no-cache, must-revalidate"
    assert result["statusDescription"] == "200 OK"
    assert "Transfer-Encoding" not in result["headers"] and "Connection" not in result["headers"]


def test_alb_multi_value() -> None:
    result = KINDS["alb-multi"].encode(response(status=404, reason="Nope"))
    assert result == {
        "statusCode": 404, "statusDescription": "404 Nope",
        "multiValueHeaders": {"Content-Type": ["text/html; charset=UTF-8"], "Set-Cookie": COOKIES,
                              "Cache-Control": ["no-cache", "must-revalidate"]},
        "body": "<p>hi</p>", "isBase64Encoded": False,
    }


@pytest.mark.parametrize(("status", "reason", "want"), [
    (200, "", "200 OK"), (418, "", "418 I'm a Teapot"), (599, "", "599"), (302, "Moved", "302 Moved"),
    (204, "", "204 No Content")])
def test_status_description(status: int, reason: str, want: str) -> None:
    assert KINDS["alb"].encode(response(body=b"", status=status, reason=reason))["statusDescription"] == want


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("status", [204, 304])
def test_bodyless_statuses_encode_an_empty_text_body(name: str, status: int) -> None:
    # upstream reads no body for HEAD, 204 and 304; the encoders must not invent one
    result = KINDS[name].encode(HttpResponse(status, [("ETag", '"x"')], b""))
    assert result["body"] == "" and result["isBase64Encoded"] is False


@pytest.mark.parametrize(("content_type", "encoding", "body", "as_text"), [
    ("text/html; charset=utf-8", None, b"<p>\xc3\xa9</p>", True),
    ("application/json", None, b'{"a": 1}', True),
    ("application/vnd.api+json", None, b"{}", True),
    ("application/atom+xml", None, b"<a/>", True),
    ("image/svg+xml", None, b"<svg/>", True),
    ("application/x-www-form-urlencoded", None, b"a=1", True),
    ("application/javascript", "identity", b"x()", True),
    ("TEXT/PLAIN", None, b"shout", True),
    (None, None, b"plain utf-8 \xe2\x82\xac", True),
    (None, None, b"\xff\xfe", False),
    ("text/plain", None, b"latin-1 \xe9", False),  # not UTF-8: base64, losslessly
    ("application/json", "gzip", gzip.compress(b"{}"), False),
    ("text/html", "br", b"\x8b\x02\x80hello", False),
    ("image/png", None, b"\x89PNG\r\n", False),
    ("application/octet-stream", None, b"abc", False),  # binary by type even when the bytes are ASCII
    ("application/pdf", None, b"%PDF-1.7", False),
])
def test_text_or_base64(content_type: str | None, encoding: str | None, body: bytes, as_text: bool) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    if encoding:
        headers.append(("Content-Encoding", encoding))
    for name in sorted(KINDS):
        result = KINDS[name].encode(HttpResponse(200, headers, body))
        assert result["isBase64Encoded"] is (not as_text), name
        assert body_of(result) == body, name


def test_text_rule_helpers() -> None:
    assert is_text_type("text/csv") and is_text_type("application/problem+json")
    assert not is_text_type("application/json", "gzip") and not is_text_type("font/woff2")
    assert encode_body(b"", "image/png", None) == ("", False)
    assert encode_body(b"\x00\x01", "image/png", None) == ("AAE=", True)


# --- property: any response survives encoding for every kind ------------------------------------------------
_NAMES = ["Content-Type", "content-type", "Set-Cookie", "set-cookie", "SET-COOKIE", "X-Repeat", "x-repeat",
          "Vary", "Location", "Cache-Control", "Content-Encoding", "Transfer-Encoding", "Connection", "X-Other"]
_TYPES = ["text/html; charset=utf-8", "application/json", "image/png", "application/octet-stream", "text/plain",
          "application/vnd.x+json"]
_DROP = {"transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade", "trailer"}
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), min_size=1, max_size=16)


@st.composite
def responses(draw: st.DrawFn) -> HttpResponse:
    headers = draw(st.lists(st.tuples(st.sampled_from(_NAMES), header_values), max_size=8))
    headers = [(n, draw(st.sampled_from(_TYPES)) if n.lower() == "content-type" else
                draw(st.sampled_from(["gzip", "identity", "br"])) if n.lower() == "content-encoding" else v)
               for n, v in headers]
    body = draw(st.binary(max_size=64) | st.text(max_size=40).map(str.encode))
    status = draw(st.sampled_from([200, 201, 204, 301, 302, 304, 400, 404, 418, 500, 503]) | st.integers(100, 599))
    return HttpResponse(status, headers, b"" if status in (204, 304) else body)


def _grouped(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


@SETTINGS
@given(responses())
def test_any_response_survives_every_kind(resp: HttpResponse) -> None:
    kept = [(n, v) for n, v in resp.headers if n.lower() not in _DROP]
    cookies = [v for n, v in kept if n.lower() == "set-cookie"]
    others = [(n, v) for n, v in kept if n.lower() != "set-cookie"]
    by_lower: dict[str, list[str]] = {}
    for name, value in others:
        by_lower.setdefault(name.lower(), []).append(value)
    for name, kind in KINDS.items():
        result = json.loads(json.dumps(kind.encode(resp), ensure_ascii=False))
        assert result["statusCode"] == resp.status
        assert body_of(result) == resp.body, name
        if result["isBase64Encoded"]:
            assert base64.b64encode(resp.body).decode() == result["body"]
        if "multiValueHeaders" in result:  # REST, ALB multi-value: every header, repeats as list items
            assert "headers" not in result
            assert result["multiValueHeaders"] == _grouped(kept), name
        elif "cookies" in result or name == "http-api":  # HTTP API / Function URL
            assert result.get("cookies", []) == cookies
            assert result["headers"] == {k: ", ".join(v) for k, v in by_lower.items()}
        else:  # single-value map: cookies by case variants, the rest comma-joined
            assert set_cookies_single(result) == cookies, name
            single = {k.lower(): v for k, v in result["headers"].items() if k.lower() != "set-cookie"}
            assert single == {k: ", ".join(v) for k, v in by_lower.items()}, name
        if name.startswith("alb") or name.startswith("lattice"):
            assert result["statusDescription"].split(" ")[0] == str(resp.status)
