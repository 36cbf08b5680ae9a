"""rewrite.py: forged-header stripping, context headers, base path, Location fix, compression."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit_helpers import SETTINGS, values

from reweb.http import HttpRequest, HttpResponse
from reweb.jsonenc import dumps_ascii
from reweb.rewrite import (
    fix_location,
    lambda_context,
    maybe_compress,
    maybe_compress_stream,
    prepare_request,
    public_origin,
    strip_base_path,
)


def req(headers: list[tuple[str, str]], path: str = "/") -> HttpRequest:
    return HttpRequest("GET", path, "", list(headers))


# --- x-amzn-lambda-context -------------------------------------------------------------------------------

@given(st.text(), st.integers(0, 2**53), st.text(), st.text(),
       st.one_of(st.just(""), st.just('{"custom":{"a":"\u00e9"}}'), st.just("not json")), st.just(""))
def test_lambda_context_is_ascii_json_with_every_field(request_id: str, deadline: int, arn: str, trace: str,
                                                       client_context: str, identity: str) -> None:
    env = {"function_name": "f\u00e9\"", "memory_size": 128}
    text = lambda_context(request_id, deadline, arn, trace, client_context, identity, json.dumps(env))
    assert text.isascii() and "\n" not in text and "\r" not in text  # a valid header value
    client = json.loads(client_context) if client_context.startswith("{") else (client_context or None)
    assert json.loads(text) == {"request_id": request_id, "deadline": deadline, "invoked_function_arn": arn,
                                "xray_trace_id": trace or None, "client_context": client, "identity": None,
                                "env_config": env}


# --- forged context headers -------------------------------------------------------------------------------

def test_client_copies_of_context_headers_are_replaced() -> None:
    request = req([("Host", "h"), ("X-Amzn-Request-Context", "forged"), ("x-amzn-lambda-context", "forged"),
                   ("x-amzn-request-context", "again"), ("X-Amzn-Trace-Id", "client"), ("Accept", "*/*")])
    out = prepare_request(request, request_context={"stage": "live"}, lambda_ctx='{"request_id":"1"}',
                          trace_id="Root=1-abc")
    assert values(out, "x-amzn-request-context") == ['{"stage":"live"}']
    assert values(out, "x-amzn-lambda-context") == ['{"request_id":"1"}']
    assert values(out, "x-amzn-trace-id") == ["Root=1-abc"]
    assert values(out, "accept") == ["*/*"] and values(out, "host") == ["h"]


def test_no_request_context_for_passthrough_and_client_trace_removed_even_without_ours() -> None:
    out = prepare_request(req([("x-amzn-request-context", "forged"), ("X-Amzn-Trace-Id", "client")]),
                          request_context=None, lambda_ctx="{}", trace_id="")
    assert values(out, "x-amzn-request-context") == []
    assert values(out, "x-amzn-trace-id") == []


@pytest.mark.parametrize("name", ["X-Original-URL", "x-rewrite-url", "X-ORIGINAL-URL", "X_Original_URL",
                                  "x_rewrite-url", "X_Amzn_Request_Context", "x-forwarded_prefix"])
def test_headers_some_frameworks_route_on_are_removed_however_spelled(name: str) -> None:
    """IIS-style X-Original-URL / X-Rewrite-URL: Zend/Laminas (and Symfony before 5) take the path from them, so a
    client could reach a path the gateway never saw (a SnapStart hook's). CGI-style servers (PHP) make one
    HTTP_X_ORIGINAL_URL of `-` and `_` alike: both spellings go."""
    out = prepare_request(req([(name, "/__reweb/hook"), ("X-Original-Host", "kept"), ("X_Custom", "kept")]),
                          request_context=None, lambda_ctx="{}", trace_id="")
    assert [n for n, _ in out.headers if n.lower().replace("_", "-") == name.lower().replace("_", "-")] == []
    assert values(out, "x-original-host") == ["kept"] and values(out, "x_custom") == ["kept"]


def test_authorization_source_moves_into_authorization() -> None:
    out = prepare_request(req([("Authorization", "old"), ("X-Api-Token", "Bearer t")]), request_context=None,
                          lambda_ctx="{}", trace_id="", authorization_source="x-api-token")
    assert values(out, "authorization") == ["Bearer t"] and values(out, "x-api-token") == []
    untouched = prepare_request(req([("Authorization", "old")]), request_context=None, lambda_ctx="{}",
                                trace_id="", authorization_source="x-api-token")
    assert values(untouched, "authorization") == ["old"]


def test_request_context_is_compact_json() -> None:
    context = {"http": {"path": "/a b", "method": "GET"}, "unicode": "\u03bb"}
    out = prepare_request(req([]), request_context=context, lambda_ctx="{}", trace_id="")
    (value,) = values(out, "x-amzn-request-context")
    assert json.loads(value) == context and "\n" not in value


@pytest.mark.parametrize("raw", ['{"stage": "live"}', '{"stage":"live"}'])
def test_request_context_taken_from_the_events_text_when_clean(raw: str) -> None:
    out = prepare_request(req([]), request_context={"stage": "live"}, lambda_ctx="{}", trace_id="",
                          request_context_json=raw)
    assert values(out, "x-amzn-request-context") == [raw]


@pytest.mark.parametrize("raw", ['{"stage":\n"live"}', '{"stage":\r"live"}', '{"stage":"liv\u00e9"}'])
def test_request_context_encoded_when_the_events_text_is_not_one_ascii_line(raw: str) -> None:
    context = json.loads(raw)
    out = prepare_request(req([]), request_context=context, lambda_ctx="{}", trace_id="", request_context_json=raw)
    assert values(out, "x-amzn-request-context") == [dumps_ascii(context)]


# --- base path ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "base", "want"), [
    ("/api", "/api", "/"), ("/api/", "/api", "/"), ("/api/x/y", "/api", "/x/y"), ("/apix", "/api", "/apix"),
    ("/apix/y", "/api", "/apix/y"), ("/x/api/y", "/api", "/x/api/y"), ("/v1/api/z", "/v1/api", "/z"),
    ("/api%2Fx", "/api", "/api%2Fx"), ("/", "/api", "/"), ("/API/x", "/api", "/API/x"),
])
def test_strip_base_path_whole_segments_only(path: str, base: str, want: str) -> None:
    assert strip_base_path(path, base) == want


def test_base_path_through_prepare_request() -> None:
    out = prepare_request(req([], "/stage/items"), request_context=None, lambda_ctx="{}", trace_id="",
                          base_path="/stage")
    assert out.path == "/items"


@SETTINGS
@given(st.lists(st.sampled_from(["api", "apix", "x", "a%2Fb", ""]), max_size=4),
       st.lists(st.sampled_from(["api", "v1", "x"]), min_size=1, max_size=2))
def test_strip_base_path_property(segments: list[str], base_segments: list[str]) -> None:
    path, base = "/" + "/".join(segments), "/" + "/".join(base_segments)
    out = strip_base_path(path, base)
    assert out.startswith("/")
    if segments[: len(base_segments)] == base_segments:
        assert out == "/" + "/".join(segments[len(base_segments):]) or (out == "/" and path == base)
    else:
        assert out == path


# --- Location fix --------------------------------------------------------------------------------------------
GW = [("Host", "api.example.com"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "443")]


@pytest.mark.parametrize(("location", "want"), [
    ("http://localhost:8080/login?next=/a#f", "https://api.example.com/login?next=/a#f"),
    ("http://127.0.0.1:8080/", "https://api.example.com/"),
    ("http://0.0.0.0:8080", "https://api.example.com"),
    ("http://[::1]:8080/x", "https://api.example.com/x"),
    ("http://LOCALHOST/x", "https://api.example.com/x"),
    ("http://user:pw@localhost:8080/x", "https://api.example.com/x"),
    ("http://internal.host:8080/x", "https://api.example.com/x"),  # the app's own port
    ("https://other.example.org/x", "https://other.example.org/x"),  # a real external redirect
    ("http://other.example.org:9090/x", "http://other.example.org:9090/x"),
    ("/relative/path", "/relative/path"),
    ("//localhost:8080/x", "https://api.example.com/x"),  # scheme-relative to localhost: fixed too
    ("//cdn.example.com/x", "//cdn.example.com/x"),  # scheme-relative elsewhere: left alone
])
def test_location_fix(location: str, want: str) -> None:
    response = HttpResponse(302, [("Location", location), ("Set-Cookie", "a=1")])
    fix_location(response, req(GW), app_port=8080)
    assert response.header("location") == want
    assert response.headers[1] == ("Set-Cookie", "a=1")


@pytest.mark.parametrize(("headers", "want"), [
    ([("Host", "h.example"), ("X-Forwarded-Proto", "http"), ("X-Forwarded-Port", "80")], "http://h.example"),
    ([("Host", "h.example"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "8443")], "https://h.example:8443"),
    ([("Host", "h.example:8443"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Port", "8443")],
     "https://h.example:8443"),
    ([("Host", "h.example")], "https://h.example"),
    ([("Host", "[2001:db8::1]"), ("X-Forwarded-Proto", "http"), ("X-Forwarded-Port", "8080")],
     "http://[2001:db8::1]:8080"),
    ([("Host", "h.example"), ("X-Forwarded-Proto", "HTTPS, http")], "https://h.example"),
    ([], None),
])
def test_public_origin(headers: list[tuple[str, str]], want: str | None) -> None:
    assert public_origin(req(headers)) == want


# --- compression ------------------------------------------------------------------------------------------------
TEXT = b"hello world " * 100


@pytest.mark.parametrize(("accept", "coding"), [
    ("gzip", "gzip"), ("gzip, deflate, br", "br"), ("br;q=1.0, gzip;q=0.8", "br"), ("gzip;q=0.5", "gzip"),
    ("GZIP", "gzip"), ("deflate", None), ("gzip;q=0", None), ("gzip; q=0.0", None), ("", None),
    ("x-gzip;q=0, gzip", "gzip"), ("*", "gzip"), ("*;q=0", None), ("identity", None), ("gzip;q=abc", None),
    ("br", "br"), ("BR;q=0.5, gzip", "gzip"), ("br;q=0, gzip", "gzip"), ("gzip;q=0.5, br;q=0.5", "br"),
    ("br;q=0, gzip;q=0", None), ("zstd, br;q=0.9, gzip;q=0.9", "br"),
])
def test_compression_negotiation(accept: str, coding: str | None) -> None:
    """Brotli where the client weighs it at least as high as gzip; gzip where only that is wanted."""
    import brotli

    response = HttpResponse(200, [("Content-Type", "text/html"), ("Content-Length", str(len(TEXT)))], TEXT)
    maybe_compress(response, req([("Accept-Encoding", accept)]), force=False, negotiate=True)
    assert response.header("content-encoding") == coding
    if coding is not None:
        decode = brotli.decompress if coding == "br" else gzip.decompress
        assert decode(response.body) == TEXT
        assert response.header("content-length") == str(len(response.body))
        assert response.header("vary") == "Accept-Encoding"
    else:
        assert response.body == TEXT


def test_without_the_brotli_module_br_falls_back_to_gzip(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "brotli", None)  # as if not installed: the import raises ImportError
    response = HttpResponse(200, [("Content-Type", "text/html")], TEXT)
    maybe_compress(response, req([("Accept-Encoding", "br, gzip")]), force=False, negotiate=True)
    assert response.header("content-encoding") == "gzip" and gzip.decompress(response.body) == TEXT
    response = HttpResponse(200, [("Content-Type", "text/html")], TEXT)
    maybe_compress(response, req([("Accept-Encoding", "br")]), force=False, negotiate=True)
    assert response.header("content-encoding") is None and response.body == TEXT


def test_a_streamed_answer_is_brotli_compressed_piece_by_piece() -> None:
    import brotli

    pieces = [b"<p>first piece</p>" * 20, b"<p>second</p>" * 30, b"<p>last</p>"]
    response = HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], b"", stream=iter(pieces))
    maybe_compress_stream(response, req([("Accept-Encoding", "gzip, br")]), force=False, negotiate=True)
    assert response.header("content-encoding") == "br" and response.header("content-length") is None
    decoder = brotli.Decompressor()
    out = [decoder.process(chunk) for chunk in response.chunks()]
    # Every piece decodes as soon as it arrives (flushed), not only at the end.
    assert out[:3] == pieces and b"".join(out) == b"".join(pieces)


def test_compression_skips_encoded_small_binary_and_bodyless() -> None:
    accept = req([("Accept-Encoding", "gzip")])
    cases = [HttpResponse(200, [("Content-Type", "text/html"), ("Content-Encoding", "br")], TEXT),
             HttpResponse(200, [("Content-Type", "text/html")], b"tiny"),
             HttpResponse(200, [("Content-Type", "image/png")], TEXT),
             HttpResponse(204, [("Content-Type", "text/html")], b"")]
    for response in cases:
        before = (list(response.headers), response.body)
        maybe_compress(response, accept, force=False, negotiate=True)
        assert (response.headers, response.body) == before
    # A 304's body is never touched; its header fields are the 200's (test_compression.py).
    response = HttpResponse(304, [("Content-Type", "text/html")], TEXT)
    maybe_compress(response, accept, force=False, negotiate=True)
    assert response.body == TEXT and values(HttpRequest("GET", "/", "", response.headers), "content-encoding") == []


def test_force_gzip_ignores_accept_encoding_but_not_existing_encoding() -> None:
    response = HttpResponse(200, [("Content-Type", "image/png"), ("Vary", "Accept-Encoding")], b"\x89PNG")
    maybe_compress(response, req([]), force=True, negotiate=False)
    assert gzip.decompress(response.body) == b"\x89PNG"
    assert values(HttpRequest("GET", "/", "", response.headers), "vary") == ["Accept-Encoding"]


def test_the_tenant_id_reaches_the_app_and_a_client_cannot_forge_it() -> None:
    out = prepare_request(req([("X-Amz-Tenant-Id", "forged")]), request_context=None, lambda_ctx="{}",
                          trace_id="", tenant_id="tenant-42")
    assert values(out, "x-amz-tenant-id") == ["tenant-42"]
    out = prepare_request(req([("X-Amz-Tenant-Id", "forged")]), request_context=None, lambda_ctx="{}", trace_id="")
    assert values(out, "x-amz-tenant-id") == []


def test_a_streamed_body_is_gzipped_piece_by_piece() -> None:
    import zlib

    from reweb.rewrite import maybe_compress_stream

    pieces = [b"<p>first piece</p>\n" * 20, b"<p>second</p>\n" * 30, b"<p>last</p>"]
    closed: list[bool] = []

    def app_stream() -> Iterator[bytes]:
        try:
            yield from pieces[1:]
        finally:
            closed.append(True)

    response = HttpResponse(200, [("Content-Type", "text/html"), ("Content-Length", "999")], pieces[0],
                            stream=app_stream())
    request = req([("Accept-Encoding", "gzip")])
    maybe_compress_stream(response, request, force=False, negotiate=True)
    assert values_of(response, "content-encoding") == ["gzip"] and values_of(response, "content-length") == []
    assert "Accept-Encoding" in values_of(response, "vary")
    decompressor = zlib.decompressobj(31)
    out = b""
    for i, piece in enumerate(response.chunks()):
        out += decompressor.decompress(piece)
        if i < len(pieces):  # each piece is readable as soon as it is sent: flushed, not held back
            assert out == b"".join(pieces[: i + 1])
    assert out == b"".join(pieces) and decompressor.eof
    assert closed == [True]


def test_a_stream_is_not_compressed_when_the_client_or_the_type_says_no() -> None:
    from reweb.rewrite import maybe_compress_stream

    for accept, kind in (("identity", "text/html"), ("gzip", "image/png")):
        response = HttpResponse(200, [("Content-Type", kind)], b"x" * 1000, stream=iter([b"y" * 1000]))
        maybe_compress_stream(response, req([("Accept-Encoding", accept)]), force=False, negotiate=True)
        assert values_of(response, "content-encoding") == []
        assert b"".join(response.chunks()) == b"x" * 1000 + b"y" * 1000


def values_of(response: Any, name: str) -> list[str]:
    return [v for n, v in response.headers if n.lower() == name]


def test_the_removed_prefix_reaches_the_app_as_x_forwarded_prefix() -> None:
    request = req([("X-Forwarded-Prefix", "/forged")], path="/api/users")
    request.prefix = "/Prod"  # a stage removed by the event's decoder
    out = prepare_request(request, request_context=None, lambda_ctx="{}", trace_id="", base_path="/api")
    assert out.path == "/users" and values(out, "x-forwarded-prefix") == ["/Prod/api"]
    plain = prepare_request(req([("X-Forwarded-Prefix", "/forged")], path="/users"), request_context=None,
                            lambda_ctx="{}", trace_id="", base_path="/api")
    assert values(plain, "x-forwarded-prefix") == []  # nothing removed: nothing said, and no forged copy


def test_a_named_stage_is_removed_only_through_the_execute_api_domain() -> None:
    from reweb.events import http_api

    event = {"version": "2.0", "rawPath": "/Prod/my/path", "rawQueryString": "", "headers": {},
             "requestContext": {"http": {"method": "GET"}, "stage": "Prod",
                                "domainName": "id.execute-api.us-east-1.amazonaws.com"}}
    request = http_api.decode(event)
    assert (request.path, request.prefix) == ("/my/path", "/Prod")
    event["requestContext"]["domainName"] = "api.example.com"  # type: ignore[index]  # a custom domain
    request = http_api.decode(event)
    assert (request.path, request.prefix) == ("/Prod/my/path", "")
