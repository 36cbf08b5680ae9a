"""Arbitrary JSON never raises out of detect() + decode() with anything but EventError.

Three sources of junk: any JSON at all; events assembled from the keys the sources use, with arbitrary values;
and every real fixture with one field (top level, in requestContext, or in a header map) replaced by junk.
Whatever decodes must also be a request the upstream can send: a token method, a clean target.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from unit_helpers import SETTINGS, all_fixture_files, load

from reweb import events
from reweb.events import EventError
from reweb.http import HttpRequest

# Text with the characters that break URL and header code: lone surrogates (JSON can carry "\ud800"), NUL,
# CR/LF, "%" and the URL delimiters.
_NASTY = st.sampled_from(["\ud800", "\udfff", "\udc80", "%", "%2", "\x00", "\r", "\n", " ", "\u00e9", "/", "?", "#",
                          "+", "&", "=", ";", ",", "\x7f", "\U0001f30d"])
texts = st.lists(st.characters() | _NASTY, max_size=12).map("".join)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)

# One level of nesting is all a source's fields have: cheaper to generate than json_values, same reach.
shallow = scalars | st.lists(scalars, max_size=3) | st.dictionaries(texts, scalars | st.lists(scalars, max_size=2),
                                                                    max_size=3)

KEYS = ["httpMethod", "method", "path", "raw_path", "rawPath", "rawQueryString", "headers", "multiValueHeaders",
        "queryStringParameters", "multiValueQueryStringParameters", "query_string_parameters", "cookies", "body",
        "isBase64Encoded", "is_base64_encoded", "version", "requestContext", "methodArn"]
CONTEXTS = st.fixed_dictionaries({}, optional={
    "elb": shallow, "http": st.fixed_dictionaries({}, optional={"method": shallow, "path": shallow})
    | shallow, "stage": shallow, "domainName": shallow, "serviceNetworkArn": shallow, "serviceArn": shallow})
shaped_events = st.fixed_dictionaries(
    {}, optional={k: (CONTEXTS | shallow) if k == "requestContext" else
                  st.sampled_from(["2.0", "1.0"]) | shallow if k == "version" else shallow for k in KEYS})

HTTP_FIXTURES = [f for f in all_fixture_files() if not f.startswith("other/")]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_TARGET_BAD = re.compile(r"[\x00-\x20\x7f-\U0010ffff#]")


def decode_or_error(event: Any) -> HttpRequest | None:
    kind = events.detect(event)
    if not kind.http:
        return None
    try:
        request = kind.decode(event)
    except EventError:
        return None
    assert isinstance(request, HttpRequest)
    assert _TOKEN.match(request.method), request.method
    assert request.path.startswith("/")
    assert not _TARGET_BAD.search(request.path) and "?" not in request.path, request.path
    assert not _TARGET_BAD.search(request.query), request.query
    assert isinstance(request.body, bytes)
    assert all(isinstance(n, str) and isinstance(v, str) for n, v in request.headers)
    assert any(n.lower() == "host" for n, _ in request.headers)
    return request


@SETTINGS
@given(json_values)
def test_any_json(value: Any) -> None:
    decode_or_error(value)


@SETTINGS
@given(shaped_events)
def test_events_with_known_keys(event: dict[str, Any]) -> None:
    decode_or_error(event)


@SETTINGS
@given(st.sampled_from(HTTP_FIXTURES), st.data())
def test_fixture_with_one_field_replaced(rel: str, data: st.DataObject) -> None:
    event = load(rel)
    where = data.draw(st.sampled_from(["top", "context", "http", "headers", "query"]))
    target: Any = event
    if where == "context":
        target = event.get("requestContext")
    elif where == "http":
        target = (event.get("requestContext") or {}).get("http")
    elif where == "headers":
        target = event.get("multiValueHeaders") or event.get("headers")
    elif where == "query":
        target = (event.get("multiValueQueryStringParameters") or event.get("queryStringParameters")
                  or event.get("query_string_parameters"))
    if not isinstance(target, dict) or not target:
        target = event
    key = data.draw(st.sampled_from(sorted(target)) | texts)
    target[key] = data.draw(json_values)
    decode_or_error(event)


@SETTINGS
@given(st.sampled_from(HTTP_FIXTURES), texts, texts)
def test_fixture_with_junk_path_and_query(rel: str, path: str, junk: str) -> None:
    event = load(rel)
    for key in ("path", "rawPath", "raw_path"):
        if key in event:
            event[key] = path
    if "rawQueryString" in event:
        event["rawQueryString"] = junk
    for key in ("queryStringParameters", "multiValueQueryStringParameters", "query_string_parameters"):
        if isinstance(event.get(key), dict):
            event[key] = {junk: [junk, path]} if key.startswith("multi") else {junk: path}
    decode_or_error(event)


def test_known_junk() -> None:
    """Cases found while writing these tests, kept as plain examples."""
    base = load("apigw-rest/voker-rest-encoded-path-query-repeated-headers.json")
    for change in ({"path": "/\ud800"}, {"httpMethod": "G T"}, {"httpMethod": ""},
                   {"multiValueQueryStringParameters": {"a": ["\udfff"]}}, {"body": "\u00e9", "isBase64Encoded": True},
                   {"headers": None, "multiValueHeaders": {"x": 5}}):
        decode_or_error({**base, **change})
