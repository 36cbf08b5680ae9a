"""Round trip: a request a client sends -> the event each source would build from it -> decode -> compare.

Each builder does what its source does (see SOURCES.md): REST keeps the path encoded but decodes the query into
(multi-)value maps; HTTP API 2.0 decodes rawPath and keeps rawQueryString, comma-joins repeated headers and moves
cookies into an array; Function URLs do the same but keep rawPath encoded (and a duplicate cookie header); ALB keeps
path and query raw, single-value mode keeping the last of repeats; Lattice v1 comma-joins headers, v2 sends lists.
Where a source loses information the test compares only what can be recovered, and says so.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote

from hypothesis import assume, given
from hypothesis import strategies as st
from unit_helpers import SETTINGS

from reweb import events


@dataclass
class Client:
    method: str
    raw_path: str  # exactly as on the wire
    pairs: list[tuple[str, str]]  # decoded query pairs
    raw_pairs: list[tuple[str, str]]  # the same pairs as the client encoded them
    headers: list[tuple[str, str]]  # lower-case names, Host first, repeats kept; no Cookie
    cookies: list[str]
    body: bytes
    body_is_text: bool  # would the gateway send it as text (UTF-8 and a text type)?

    @property
    def raw_query(self) -> str:
        return "&".join(f"{k}={v}" for k, v in self.raw_pairs)

    @property
    def host(self) -> str:
        return self.headers[0][1]


# --- strategies --------------------------------------------------------------------------------------------
# (Regex strategies are slow to draw from: plain character lists keep the whole file well under a minute.)
def chars(alphabet: str, min_size: int = 0, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=min_size, max_size=max_size)


_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) | chars(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-", 1).map(lambda m: "X" + m)
_RAW_PATH_CHARS = list("abcXYZ0129-._~!$&'()*+,;=:@[]")
_ESCAPED = ["%2F", "%2f", "%20", "%7E", "%25", "%3F", "%23", "%C3%A9", "%E2%82%AC", "%F0%9F%98%80", "%2B", "%26"]
segment = st.lists(st.sampled_from(_RAW_PATH_CHARS) | st.sampled_from(_ESCAPED), max_size=6).map("".join)
raw_paths = st.lists(segment, min_size=1, max_size=4).map(lambda segs: "/" + "/".join(segs))

# Query text: the delimiters, "+", "%", space, and non-ASCII from 1, 2, 3 and 4 UTF-8 bytes.
_QUERY_TEXT = [*"abcXYZ019 &=+%/?#;,:@[]~-_.'\"", "\u00e9", "\u00ff", "\u20ac", "\u4e2d", "\U0001f600"]
query_text = st.text(st.sampled_from(_QUERY_TEXT), max_size=8)


@st.composite
def query_pairs(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    keys = draw(st.lists(query_text.filter(bool), min_size=1, max_size=3))
    pairs = draw(st.lists(st.tuples(st.sampled_from(keys), query_text), max_size=6))
    raw: list[tuple[str, str]] = []
    for key, value in pairs:
        safe = draw(st.sampled_from(["", "/", "/:@", "[]", "/?:@[],;"]))
        encode = draw(st.sampled_from([quote_plus, quote]))  # "+" or "%20" for a space: both are sent
        raw.append((encode(key, safe=safe), encode(value, safe=safe)))
    return pairs, raw


header_names = st.sampled_from(["accept", "x-multi", "x-probe", "user-agent", "x-forwarded-for"]) | chars(
    _LOWER, 1).map(lambda n: "x-" + n)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20).map(
    str.strip).filter(bool)
cookie_pairs = st.tuples(chars(_LOWER + "ABC_", 1, 6), chars(_LOWER + "%+/=_-", 0, 8)).map("=".join)


@st.composite
def clients(draw: st.DrawFn) -> Client:
    pairs, raw_pairs = draw(query_pairs())
    host = draw(st.sampled_from(["a.example.com", "b.example.com:8443", "x9.example.org"]))
    headers = [("host", host), *draw(st.lists(st.tuples(header_names, header_values), max_size=6))]
    if draw(st.booleans()):
        body = draw(st.binary(max_size=64))
        text = False
    else:
        body = draw(st.text(max_size=40)).encode("utf-8")
        text = True
    return Client(draw(methods), draw(raw_paths), pairs, raw_pairs, headers,
                  draw(st.lists(cookie_pairs, max_size=3)), body, text)


# --- what the sources build ----------------------------------------------------------------------------------
def group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def last(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return {k: vs[-1] for k, vs in group(pairs).items()}


def body_fields(c: Client, draw_b64: bool, keys: tuple[str, str] = ("body", "isBase64Encoded")) -> dict[str, Any]:
    if c.body_is_text and not draw_b64:
        return {keys[0]: c.body.decode("utf-8"), keys[1]: False}
    return {keys[0]: base64.b64encode(c.body).decode("ascii"), keys[1]: True}


def client_headers(c: Client) -> list[tuple[str, str]]:
    cookie = [("cookie", "; ".join(c.cookies))] if c.cookies else []
    return c.headers + cookie


def rest_event(c: Client, b64: bool) -> dict[str, Any]:
    multi_headers = group(client_headers(c))
    multi_query = group(c.pairs)
    return {
        "resource": "/{proxy+}", "httpMethod": c.method, "path": c.raw_path,
        "headers": {k: v[-1] for k, v in multi_headers.items()}, "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {"stage": "live", "path": "/live" + c.raw_path, "domainName": c.host.split(":")[0]},
        **body_fields(c, b64),
    }


def v2_event(c: Client, b64: bool, function_url: bool) -> dict[str, Any]:
    joined = {k: ",".join(v) for k, v in group(c.headers).items()}
    if function_url and c.cookies:
        joined["cookie"] = "; ".join(c.cookies)
    decoded_path = unquote(c.raw_path)
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": c.raw_path if function_url else decoded_path,
        "rawQueryString": c.raw_query, "headers": joined,
        "requestContext": {"domainName": c.host, "stage": "$default",
                           "http": {"method": c.method, "path": decoded_path}},
        **body_fields(c, b64),
    }
    if c.pairs:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in group(c.pairs).items()}
    if c.cookies:
        event["cookies"] = list(c.cookies)
    return event


def alb_event(c: Client, b64: bool, multi: bool) -> dict[str, Any]:
    event: dict[str, Any] = {"requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:tg"}},
                             "httpMethod": c.method, "path": c.raw_path, **body_fields(c, b64)}
    if multi:
        event["multiValueHeaders"] = group(client_headers(c))
        event["multiValueQueryStringParameters"] = group(c.raw_pairs)
    else:
        event["headers"] = last(client_headers(c))
        event["queryStringParameters"] = last(c.raw_pairs)
    return event


def expected_v2_headers(c: Client) -> list[tuple[str, str]]:
    out = [(k, ",".join(v)) for k, v in group(c.headers).items()]
    return out + ([("cookie", "; ".join(c.cookies))] if c.cookies else [])


# --- the properties --------------------------------------------------------------------------------------------
@SETTINGS
@given(clients(), st.booleans())
def test_rest(c: Client, b64: bool) -> None:
    event = rest_event(c, b64)
    kind = events.detect(event)
    assert kind.name == "rest"
    request = kind.decode(event)
    assert request.method == c.method
    assert request.path == c.raw_path  # REST keeps the path as sent
    # The query arrives decoded and grouped by key: "+" vs "%20", the client's escaping and the order between
    # different keys are lost. What survives: every value of every key, in order.
    assert group(parse_qsl(request.query, keep_blank_values=True)) == group(c.pairs)
    assert request.headers == [(k, v) for k, vs in group(client_headers(c)).items() for v in vs]
    assert request.body == c.body


@SETTINGS
@given(clients(), st.booleans())
def test_http_api_v2(c: Client, b64: bool) -> None:
    event = v2_event(c, b64, function_url=False)
    # rawPath arrives decoded: "%2F" and "/" become the same, and a decoded "%41" could be a literal "%41" or
    # an "A" the client escaped. Only a decoded path without such "%XX" can be recovered, as its decoded form.
    decoded = event["rawPath"]
    assume(not re.search(r"%[0-9A-Fa-f]{2}", decoded))
    kind = events.detect(event)
    assert kind.name == "http-api"
    request = kind.decode(event)
    assert request.method == c.method
    assert unquote(request.path) == decoded
    assert request.query == c.raw_query  # rawQueryString: byte for byte
    # Repeated headers arrive comma-joined; the cookies array becomes one Cookie header.
    assert request.headers == expected_v2_headers(c)
    assert request.body == c.body


@SETTINGS
@given(clients(), st.booleans())
def test_function_url(c: Client, b64: bool) -> None:
    event = v2_event(c, b64, function_url=True)
    request = events.detect(event).decode(event)
    assert request.method == c.method
    assert request.path == c.raw_path  # Function URLs keep rawPath encoded: exact
    assert request.query == c.raw_query
    assert request.headers == expected_v2_headers(c)
    assert request.body == c.body


@SETTINGS
@given(clients(), st.booleans())
def test_alb_multi_value(c: Client, b64: bool) -> None:
    event = alb_event(c, b64, multi=True)
    kind = events.detect(event)
    assert kind.name == "alb-multi"
    request = kind.decode(event)
    assert request.method == c.method
    assert request.path == c.raw_path
    # Raw pieces, never decoded nor re-encoded; the map groups repeats of a key, so the query is exact whenever
    # the client did not interleave keys, and equal up to that grouping otherwise.
    grouped = "&".join(f"{k}={v}" for k, vs in group(c.raw_pairs).items() for v in vs)
    assert request.query == grouped
    if [k for k, _ in c.raw_pairs] == [k for k, vs in group(c.raw_pairs).items() for _ in vs]:
        assert request.query == c.raw_query
    assert request.headers == [(k, v) for k, vs in group(client_headers(c)).items() for v in vs]
    assert request.body == c.body


@SETTINGS
@given(clients(), st.booleans())
def test_alb_single_value(c: Client, b64: bool) -> None:
    event = alb_event(c, b64, multi=False)
    kind = events.detect(event)
    assert kind.name == "alb"
    request = kind.decode(event)
    assert request.path == c.raw_path
    # Single-value mode keeps the last value of a repeated key or header: that much is recoverable, raw.
    assert request.query == "&".join(f"{k}={v}" for k, v in last(c.raw_pairs).items())
    assert request.headers == list(last(client_headers(c)).items())
    assert request.body == c.body


@SETTINGS
@given(clients(), st.booleans())
def test_lattice_v1(c: Client, b64: bool) -> None:
    # Docs-derived shape: snake_case keys, decoded single-value query, comma-joined headers.
    event = {"raw_path": c.raw_path, "method": c.method,
             "headers": {k: ",".join(v) for k, v in group(client_headers(c)).items()},
             "query_string_parameters": last(c.pairs),
             **body_fields(c, b64, ("body", "is_base64_encoded"))}
    kind = events.detect(event)
    assert kind.name == "lattice-v1"
    request = kind.decode(event)
    assert request.method == c.method
    assert request.path == c.raw_path
    assert dict(parse_qsl(request.query, keep_blank_values=True)) == last(c.pairs)
    assert request.headers == [(k, ",".join(v)) for k, v in group(client_headers(c)).items()]
    assert request.body == c.body


@SETTINGS
@given(clients(), st.booleans())
def test_lattice_v2(c: Client, b64: bool) -> None:
    event = {"version": "2.0", "path": c.raw_path, "method": c.method,
             "headers": group(client_headers(c)), "queryStringParameters": group(c.pairs),
             "requestContext": {"serviceNetworkArn": "arn:sn", "serviceArn": "arn:svc", "timeEpoch": "1"},
             **body_fields(c, b64)}
    kind = events.detect(event)
    assert kind.name == "lattice-v2"
    request = kind.decode(event)
    assert request.method == c.method
    assert request.path == c.raw_path
    assert group(parse_qsl(request.query, keep_blank_values=True)) == group(c.pairs)
    assert request.headers == [(k, v) for k, vs in group(client_headers(c)).items() for v in vs]
    assert request.body == c.body
