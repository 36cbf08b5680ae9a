"""url.py and body.py directly: the encoding rules every kind relies on."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reweb.events import EventError, b64
from reweb.events.body import decode_body
from reweb.events.url import encode_path, encode_query_pairs, encode_raw_query, join_raw_pairs


@pytest.mark.parametrize(("given", "want"), [
    ("/a%2Fb/%7e/~/x%20y", "/a%2Fb/%7e/~/x%20y"),  # already encoded: untouched, never double-encoded
    ("/space value", "/space%20value"),  # HTTP API hands it over decoded
    ("/caf\u00e9/\U0001f600", "/caf%C3%A9/%F0%9F%98%80"),
    ("/100%", "/100%25"), ("/%zz", "/%25zz"), ("/%4", "/%254"),  # a lone % is a literal percent
    ("/a?b#c", "/a%3Fb%23c"),  # a decoded ? or # must not start a query or fragment
    ("/a[1]|b/:@!$&'()*+,;=", "/a[1]|b/:@!$&'()*+,;="),  # raw as the client may send them
    ("/{x}^`\"<>", "/%7Bx%7D%5E%60%22%3C%3E"),
    ("/tab\there\r\n", "/tab%09here%0D%0A"),
    ("", "/"), ("no-slash", "/no-slash"),
])
def test_encode_path(given: str, want: str) -> None:
    assert encode_path(given) == want
    assert encode_path(want) == want  # idempotent: applying it twice changes nothing


@pytest.mark.parametrize(("given", "want"), [
    ("a=1&b=%2B+c&d[]=x/y?z", "a=1&b=%2B+c&d[]=x/y?z"),
    ("q=a b&r=\u00e9#frag", "q=a%20b&r=%C3%A9%23frag"),
    ("p=100%&s=%E9", "p=100%25&s=%E9"),
])
def test_encode_raw_query(given: str, want: str) -> None:
    assert encode_raw_query(given) == want
    assert encode_raw_query(want) == want


def test_decoded_pairs_are_re_encoded_unambiguously() -> None:
    pairs = [("a b", "c+d"), ("e&f", "g=h"), ("", ""), ("k", "100%"), ("\u00e9", "x/y?z:@")]
    assert encode_query_pairs(pairs) == "a%20b=c%2Bd&e%26f=g%3Dh&=&k=100%25&%C3%A9=x/y?z:@"
    assert join_raw_pairs([("date%5Bfrom%5D", "2020"), ("x", "a+b")]) == "date%5Bfrom%5D=2020&x=a+b"


@pytest.mark.parametrize("bad", ["/\ud800", "/x\udfff"])
def test_lone_surrogates_are_event_errors(bad: str) -> None:
    with pytest.raises(EventError):
        encode_path(bad)
    with pytest.raises(EventError):
        encode_raw_query(bad)
    with pytest.raises(EventError):
        encode_query_pairs([("k", bad)])


def test_decode_body() -> None:
    assert decode_body(None, False) == b"" and decode_body("", True) == b""
    assert decode_body("aGk=", True) == b"hi" and decode_body("aGk=", False) == b"aGk="
    assert decode_body("\u03bb", False) == "\u03bb".encode()
    for body, marked in (("\u00e9", True), ("abc", True), (5, False), (["x"], True)):
        with pytest.raises(ValueError):
            decode_body(body, marked)


@pytest.mark.parametrize("body", ["!!!", "aGVsbG8", "aGV sbG8="])
def test_body_marked_base64_that_is_not_is_rejected(body: str) -> None:
    with pytest.raises(ValueError, match="marked base64"):
        decode_body(body, True)


# --- large bodies take the SIMD base64 path (events/b64.py); it must agree with binascii -------------------

@given(st.binary(max_size=64), st.binary(min_size=1, max_size=64), st.binary(max_size=3))
@settings(max_examples=30)
def test_large_base64_agrees_with_binascii(head: bytes, unit: bytes, tail: bytes) -> None:
    data = head + unit * (b64.FAST_MIN // len(unit) + 1) + tail  # every padding length, sizes past FAST_MIN
    encoded = b64.encode(data)
    assert encoded == binascii.b2a_base64(data, newline=False)
    assert decode_body(encoded.decode(), True) == data
    assert b64._fast_module() is not None  # pybase64 is a dependency: sizes past FAST_MIN took it


@pytest.mark.parametrize("damage", ["bad char", "space", "newline", "no padding", "after padding", "non-ascii"])
def test_large_body_marked_base64_that_is_not_is_rejected(damage: str) -> None:
    text = binascii.b2a_base64(bytes(range(256)) * (b64.FAST_MIN // 256 + 1) + b"x", newline=False).decode()
    assert text.endswith("=")
    middle = len(text) // 2
    text = {"bad char": text[:middle] + "!" + text[middle + 1:],
            "space": text[:middle] + " " + text[middle:],
            "newline": text[:middle] + "\n" + text[middle:],
            "no padding": text.rstrip("="),
            "after padding": text + "QQ==",
            "non-ascii": text[:middle] + "\u00e9" + text[middle + 1:]}[damage]
    assert len(text) >= b64.FAST_MIN
    with pytest.raises(ValueError, match="marked base64"):
        decode_body(text, True)


def _quote_outcome(fn: object, text: str) -> tuple[str, str]:
    try:
        return "value", fn(text)  # type: ignore[operator]
    except (EventError, UnicodeEncodeError):
        return "refused", ""


_TRICKY = ["", "+", "%", "%%", "%2B", "a b", "\u00e9", "\x00", "\x1f", "\x7f", "\x80", "~", "-._~", "!$'()*,;:@/?",
           "&=#[]{}|\\^`\"<>", "\U0001f600", "\ud800", "x\udfff", "\ufeff", "abc", "A" * 300, "\u2028"]


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.sampled_from(_TRICKY), st.text(), st.text(st.characters(max_codepoint=0x7f))))
def test_query_component_quote_is_urllib_parse_quote(text: str) -> None:
    from urllib.parse import quote  # the reference; url.py does its own to keep urllib.parse out of Init

    from reweb.events.url import _COMPONENT_SAFE, _component

    want = _quote_outcome(lambda t: quote(t, safe=_COMPONENT_SAFE, encoding="utf-8"), text)
    assert _quote_outcome(_component, text) == want
    assert _quote_outcome(_component, text)[1].__class__ is str
