"""jsonenc's prebuilt encoders and fast event decoder against the json module: the same text, the same value,
the same exception, for any input (its fast paths skip json's wrappers, never its rules)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reweb import http1
from reweb.jsonenc import dumps_ascii, dumps_utf8, loads, loads_with_raw, quote_ascii

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _outcome(fn: Any, arg: Any) -> tuple[str, Any]:
    try:
        return "value", fn(arg)
    except Exception as exc:  # the exception's type and message are part of the contract
        return type(exc).__name__, str(exc)


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_dumps_match_json_dumps(value: Any) -> None:
    assert dumps_ascii(value) == json.dumps(value, separators=(",", ":"))
    assert dumps_utf8(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, str):
        assert quote_ascii(value) == json.dumps(value)


def test_dumps_refuse_what_json_refuses() -> None:
    for bad in (object(), {"a": {1, 2}}, b"bytes"):
        assert _outcome(dumps_ascii, bad) == _outcome(json.JSONEncoder(separators=(",", ":")).encode, bad)


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_loads_matches_json_loads_on_encoded_values(value: Any) -> None:
    for data in (json.dumps(value).encode(), json.dumps({"v": value}).encode(),
                 json.dumps({"v": value}, ensure_ascii=False).encode("utf-8", "surrogatepass")):
        expected, got = _outcome(json.loads, data), _outcome(loads, data)
        assert repr(got) == repr(expected)  # repr: NaN != NaN, but prints the same


@pytest.mark.parametrize("data", [
    b'{"a":1}', b' {"a":1}', b'{"a":1} ', b'{"a":1}\n', b'{"a":1}x', b'{"a":1}{}', b'{"a":', b'{', b'{}',
    b'{"a":"\xff"}', b'{"a":"\xed\xa0\x80"}', b'\xef\xbb\xbf{"a":1}', '{"a":1}'.encode("utf-16-le"),
    '{"a":1}'.encode("utf-16"), '{"a":1}'.encode("utf-32"), b'[1]', b'"s"', b'', b'{"a":NaN}',
    b'{"a":1,}', b'{' * 100000 + b'}' * 100000, b'{"\\ud800":"\\udc00"}',
])
def test_loads_matches_json_loads_on_edge_cases(data: bytes) -> None:
    assert repr(_outcome(loads, data)) == repr(_outcome(json.loads, data))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=30)), max_size=6))
def test_header_block_never_adds_a_line(headers: list[tuple[str, str]]) -> None:
    """Whatever the names and values: one CRLF-ended line per kept header, no stray CR, LF or NUL, and a clean
    list passes through unchanged."""
    block = http1.header_block(headers)
    lines = block.split("\r\n")[:-1] if block else []
    kept = [(n, v) for n, v in headers if http1._TOKEN.match(n) is not None]
    assert len(lines) == len(kept)
    assert "\x00" not in block and block.count("\n") == len(kept) == block.count("\r")
    clean = all(not any(c in v for c in "\r\n\x00") for _, v in headers) and len(kept) == len(headers)
    if clean:
        assert block == "".join(f"{n}: {v}\r\n" for n, v in headers)


def _with_raw(data: bytes) -> tuple[str, Any]:
    """loads_with_raw's outcome, its raw text checked: when given, it decodes to the top-level member."""
    outcome = _outcome(lambda d: loads_with_raw(d, "requestContext"), data)
    if outcome[0] != "value":
        return outcome
    value, raw = outcome[1]
    if raw is not None:
        assert isinstance(value, dict) and repr(json.loads(raw)) == repr(value["requestContext"])
    return "value", value


@settings(max_examples=300, deadline=None)
@given(_JSON, _JSON, st.sampled_from([(",", ":"), (", ", ": "), (",", " : "), (" , ", " :  ")]))
def test_loads_with_raw_matches_json_loads(context: Any, other: Any, separators: tuple[str, str]) -> None:
    events = [{"requestContext": context, "v": other}, {"v": other, "requestContext": context},
              {"v": {"requestContext": other}, "requestContext": context},  # a nested lookalike comes first
              {"v": {"requestContext": other}}, {"requestContext": other, "x": 1, "requestContext ": context}]
    for event in events:
        for ensure_ascii in (True, False):
            data = json.dumps(event, separators=separators, ensure_ascii=ensure_ascii).encode("utf-8",
                                                                                               "surrogatepass")
            assert repr(_with_raw(data)) == repr(_outcome(json.loads, data))


@pytest.mark.parametrize("data", [
    b'{"requestContext":{"a":1}}', b'{"requestContext": {"a":1}}', b'{"requestContext" : {"a":1}}',
    b'{"requestContext":\n{"a":1}}', b'{"requestContext":  {"a":1}}', b'{"requestContext":{"a":1},}',
    b'{"requestContext":{"a":1}} ', b'{"requestContext":{"a":1}', b'{"requestContext":}', b'{"requestContext"',
    b'{"requestContext":{"a":1},"requestContext":{"a":2}}',  # repeated: the last wins, as in json.loads
    b'{"x\\"requestContext":{"forged":1},"requestContext":{"real":1}}',  # an escaped quote before the name
    b'{"h":"\\"requestContext\\": {\\"forged\\":1}","requestContext":{"real":1}}',
    b'{"a":{"requestContext":{"forged":1}},"requestContext":null}',
    b'{"requestContext":"reweb-x"}', b'{"request\\u0043ontext":{"a":1}}', b'{"requestContext":{"a":"\xff"}}',
    b'{"requestContext":{"a":NaN}}', b'{"requestContext":[1,{"b":2}]}', b'', b'[{"requestContext":1}]',
    b'{"requestContext":{"a":"\xc3\xa9"}}', '{"requestContext":{"a":1}}'.encode("utf-16"),
])
def test_loads_with_raw_edge_cases(data: bytes) -> None:
    assert repr(_with_raw(data)) == repr(_outcome(json.loads, data))


def test_loads_with_raw_gives_the_top_level_members_text() -> None:
    value, raw = loads_with_raw(b'{"a":{"requestContext":{"f":1}},"requestContext": {"x": [1, 2.50]}}',
                                "requestContext")
    assert value["requestContext"] == {"x": [1, 2.5]} and raw in (None, '{"x": [1, 2.50]}')
    value, raw = loads_with_raw(b'{"v":1, "requestContext": {"x": "\\u00e9"}, "w":2}', "requestContext")
    assert value == {"v": 1, "requestContext": {"x": "\u00e9"}, "w": 2} and raw == '{"x": "\\u00e9"}'
    value, raw = loads_with_raw(b'{"requestContext":{"a":1},"requestContext":{"a":2}}', "requestContext")
    assert value == {"requestContext": {"a": 2}} and raw is None
