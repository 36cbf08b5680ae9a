"""Pure gateway rules: events agree with real captures, results and failures become the gateway's answers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from reweb.local.gateways import Context, Failure, Inbound, MalformedResult, gateway_for
from tests.conftest import FIXTURES

CTX = Context(request_id="c0ffee00-0000-4000-8000-000000000001", time_epoch_ms=1783711145766,
              trace_id="Root=1-6a5145a9-1bae89e2512ec92d5d9438a0", host="127.0.0.1:3000", port=3000)

PROBE = Inbound(
    method="POST",
    raw_path="/capture/space%20value",
    raw_query="repeat=one&repeat=two&redirect=https%3A%2F%2Fexample.com%2Fa%2Fb&literalPlus=a+b"
              "&encodedPlus=a%2Bb&empty=",
    headers=[("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8.7.1"), ("Accept", "*/*"),
             ("Content-Type", "application/json"), ("Content-Length", "17"), ("X-Voker-Probe", "first"),
             ("X-Voker-Probe", "second"), ("Cookie", "session=abc123; theme=dark")],
    body=b'{"message":"hi"}\n',
)

# The voker probe logged through Go structs: these null keys are its artefacts (SOURCES.md).
V2_ARTEFACTS = {"pathParameters", "stageVariables"}
# source -> (captured fixture with the same request, keys that are artefacts of that capture's logger)
CAPTURES = {
    "rest": ("apigw-rest/voker-rest-encoded-path-query-repeated-headers.json", set()),
    "http-api": ("apigw-http-v2/voker-http-v2-decoded-rawpath-encoded-query.json", V2_ARTEFACTS),
    "function-url": ("function-url/voker-function-url-encoded-path-cookies.json", V2_ARTEFACTS),
    "alb": ("alb-single/golang-alb-headers-only.json", set()),
    "alb-multi": ("alb-multi/voker-alb-multi-encoded-path-query.json", {"queryStringParameters", "headers"}),
    "lattice": ("lattice-v2/powertools-lattice-v2-multivalue-headers.json", set()),
}


def shape(value: Any) -> Any:
    """Structure without values: dicts keep keys, lists keep the shape of their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def same_shape(ours: Any, theirs: Any, where: str, loose: set[str]) -> None:
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        # Maps keyed by data (headers, query) compare by the shape of their values only.
        if where.rsplit(".", 1)[-1] in {"headers", "multiValueHeaders", "queryStringParameters",
                                        "multiValueQueryStringParameters", "pathParameters"}:
            for sample in list(theirs.values())[:1]:
                for mine in list(ours.values())[:1]:
                    assert shape(mine) == shape(sample), where
            return
        missing = set(theirs) - set(ours) - loose - OPTIONAL
        assert not missing, f"{where}: keys missing {missing}"
        extra = set(ours) - set(theirs)
        assert not extra, f"{where}: keys AWS does not send {extra}"
        for key in set(theirs) & set(ours):
            if theirs[key] is not None and ours[key] is not None:
                same_shape(ours[key], theirs[key], f"{where}.{key}", set())
    elif theirs is not None and not isinstance(theirs, list):
        assert type(ours) is type(theirs) or {type(ours), type(theirs)} <= {int, float}, where


# Present in captures only with an authorizer, TLS or a client certificate, none of which apply locally.
OPTIONAL = {"authorizer", "authentication", "deploymentId", "operationName", "apiKey", "apiKeyId", "clientCert",
            "identity", "principal", "sessionName", "x509SanDns"}


@pytest.mark.parametrize("source", list(CAPTURES))
def test_event_shape_matches_a_real_capture(source: str) -> None:
    name, loose = CAPTURES[source]
    theirs = json.loads((FIXTURES / name).read_text())
    ours = gateway_for(source).build_event(PROBE, CTX)
    same_shape(ours, theirs, source, loose)
    json.dumps(ours)  # and it must be JSON


def test_rest_facts() -> None:
    event = gateway_for("rest").build_event(PROBE, CTX)
    assert event["path"] == "/capture/space%20value"
    assert event["pathParameters"] == {"proxy": "capture/space%20value"}
    assert event["queryStringParameters"]["repeat"] == "two"
    assert event["multiValueQueryStringParameters"]["repeat"] == ["one", "two"]
    assert event["queryStringParameters"]["literalPlus"] == "a b"
    assert event["queryStringParameters"]["encodedPlus"] == "a+b"
    assert event["queryStringParameters"]["empty"] == ""
    assert "Content-Length" not in event["headers"] and "content-length" not in {k.lower() for k in event["headers"]}
    assert event["headers"]["X-Voker-Probe"] == "second"
    assert event["multiValueHeaders"]["X-Voker-Probe"] == ["first", "second"]
    assert "Host" in event["headers"] and "User-Agent" in event["headers"]
    assert event["headers"]["Cookie"] == "session=abc123; theme=dark"
    assert event["isBase64Encoded"] is False and event["body"] == '{"message":"hi"}\n'
    bare = gateway_for("rest").build_event(Inbound("GET", "/"), CTX)
    assert bare["body"] is None and bare["queryStringParameters"] is None and bare["pathParameters"] is None


def test_http_api_facts() -> None:
    event = gateway_for("http-api").build_event(PROBE, CTX)
    assert event["rawPath"] == "/capture/space value"  # decoded, as HTTP API does
    assert event["rawQueryString"] == PROBE.raw_query
    assert event["queryStringParameters"]["repeat"] == "one,two"
    assert event["cookies"] == ["session=abc123", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-voker-probe"] == "first,second"
    assert event["headers"]["content-length"] == "17"
    bare = gateway_for("http-api").build_event(Inbound("GET", "/"), CTX)
    assert "body" not in bare and "queryStringParameters" not in bare and "cookies" not in bare
    assert bare["rawQueryString"] == ""


def test_function_url_facts() -> None:
    event = gateway_for("function-url").build_event(PROBE, CTX)
    assert event["rawPath"] == "/capture/space%20value"
    assert event["requestContext"]["http"]["path"] == "/capture/space value"
    assert event["headers"]["cookie"] == "session=abc123; theme=dark"
    assert event["cookies"] == ["session=abc123", "theme=dark"]
    assert event["requestContext"]["accountId"] == "anonymous"


def test_alb_passes_query_undecoded_and_multi_mode_is_all_or_nothing() -> None:
    single = gateway_for("alb").build_event(PROBE, CTX)
    assert single["path"] == "/capture/space%20value"
    assert single["queryStringParameters"]["redirect"] == "https%3A%2F%2Fexample.com%2Fa%2Fb"
    assert single["queryStringParameters"]["literalPlus"] == "a+b"
    assert single["queryStringParameters"]["repeat"] == "two"
    assert "multiValueHeaders" not in single and "multiValueQueryStringParameters" not in single
    multi = gateway_for("alb-multi").build_event(PROBE, CTX)
    assert multi["multiValueQueryStringParameters"]["repeat"] == ["one", "two"]
    assert multi["multiValueHeaders"]["x-voker-probe"] == ["first", "second"]
    assert "headers" not in multi and "queryStringParameters" not in multi
    bare = gateway_for("alb-multi").build_event(Inbound("GET", "/"), CTX)
    assert bare["multiValueQueryStringParameters"] == {} and bare["body"] == ""


def test_binary_body_is_base64_text_is_not() -> None:
    png = Inbound("POST", "/", headers=[("Content-Type", "image/png")], body=bytes(range(256)))
    for source in CAPTURES:
        event = gateway_for(source).build_event(png, CTX)
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == bytes(range(256))


def test_v2_cookies_and_bare_json_results() -> None:
    gw = gateway_for("http-api")
    out = gw.translate_result(json.dumps({"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["a=1", "b=2"],
                                          "body": "aGk=", "isBase64Encoded": True}).encode())
    assert out.status == 201 and out.body == b"hi"
    assert [v for k, v in out.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    bare = gw.translate_result(b'{"hello": "world"}')
    assert bare.status == 200 and bare.body == b'{"hello": "world"}'


def test_rest_multi_value_headers_and_default_content_type() -> None:
    out = gateway_for("rest").translate_result(json.dumps(
        {"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "x"}).encode())
    assert [v for k, v in out.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert ("Content-Type", "application/json") in out.headers


def test_alb_status_description_and_modes() -> None:
    result = {"statusCode": 404, "statusDescription": "404 Not Found", "headers": {"x": "single"},
              "multiValueHeaders": {"x": ["m1", "m2"]}, "body": ""}
    single = gateway_for("alb").translate_result(json.dumps(result).encode())
    untyped = ("Content-Type", "application/octet-stream")  # what ALB gives an answer without one
    assert single.reason == "Not Found" and single.headers == [("x", "single"), untyped]
    multi = gateway_for("alb-multi").translate_result(json.dumps(result).encode())
    assert multi.headers == [("x", "m1"), ("x", "m2"), untyped]


# source -> (buffered, streamed) Content-Type of an answer that has none; None: the front door adds none.
UNTYPED = {"rest": ("application/json", "application/json"), "http-api": ("application/json", None),
           "function-url": ("application/json", "application/octet-stream"),
           "alb": ("application/octet-stream", None), "alb-multi": ("application/octet-stream", None),
           "lattice": (None, None)}


@pytest.mark.parametrize("source", list(UNTYPED))
def test_an_untyped_answer_gets_the_front_doors_content_type_and_a_typed_one_keeps_its_own(source: str) -> None:
    gw = gateway_for(source)
    buffered, streamed = UNTYPED[source]
    bare = gw.translate_result(b'{"statusCode": 200, "body": "x"}')
    assert [v for k, v in bare.headers if k.lower() == "content-type"] == ([buffered] if buffered else [])
    own = gw.translate_result(json.dumps({"statusCode": 200, "headers": {"content-type": "text/csv"},
                                          "multiValueHeaders": {"content-type": ["text/csv"]}, "body": "x"}).encode())
    assert [v for k, v in own.headers if k.lower() == "content-type"] == ["text/csv"]
    if gw.streams:
        prelude = gw.translate_prelude({"statusCode": 200})
        assert [v for k, v in prelude.headers if k.lower() == "content-type"] == ([streamed] if streamed else [])
        own_prelude = gw.translate_prelude({"statusCode": 200, "headers": {"Content-Type": "text/event-stream"}})
        assert [v for k, v in own_prelude.headers if k.lower() == "content-type"] == ["text/event-stream"]


@pytest.mark.parametrize("payload", [b"not json", b'{"statusCode": "200"}', b'{"statusCode": 200, "body": 5}',
                                     b'{"statusCode": 200, "headers": {"a": ["x"]}}',
                                     b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}'])
@pytest.mark.parametrize("source", ["rest", "alb", "alb-multi", "lattice"])
def test_malformed_results_are_refused(source: str, payload: bytes) -> None:
    if source == "alb-multi" and b'"headers"' in payload:
        # Multi-value mode reads only multiValueHeaders: a bad single-value map is ignored, not refused.
        assert gateway_for(source).translate_result(payload).headers == [("Content-Type", "application/octet-stream")]
        return
    with pytest.raises(MalformedResult):
        gateway_for(source).translate_result(payload)


def test_each_gateway_answers_failures_with_its_own_page() -> None:
    rest = gateway_for("rest")
    assert rest.failure(Failure.MALFORMED, CTX).status == 502
    assert json.loads(rest.failure(Failure.MALFORMED, CTX).body) == {"message": "Internal server error"}
    assert json.loads(rest.failure(Failure.GATEWAY_TIMEOUT, CTX).body) == {"message": "Endpoint request timed out"}
    assert rest.failure(Failure.GATEWAY_TIMEOUT, CTX).status == 504
    http = gateway_for("http-api")
    assert (http.failure(Failure.MALFORMED, CTX).status, json.loads(http.failure(Failure.MALFORMED, CTX).body)) == (
        500, {"message": "Internal Server Error"})
    assert http.failure(Failure.GATEWAY_TIMEOUT, CTX).status == 503
    alb = gateway_for("alb").failure(Failure.FUNCTION_ERROR, CTX)
    assert alb.status == 502 and b"<h1>502 Bad Gateway</h1>" in alb.body and ("Server", "awselb/2.0") in alb.headers
    assert gateway_for("alb").failure(Failure.REQUEST_TOO_LARGE, CTX).status == 413
    url = gateway_for("function-url").failure(Failure.FUNCTION_ERROR, CTX)
    assert url.status == 502 and url.body == b"Internal Server Error"
