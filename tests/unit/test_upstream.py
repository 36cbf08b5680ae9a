"""upstream.serialize_head: the request head sent to the app. No event may smuggle a second request or header."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reweb.http import HttpRequest
from reweb.upstream import UpstreamError, serialize_head


def head_lines(request: HttpRequest) -> list[str]:
    head = serialize_head(request).decode("latin-1")
    assert head.endswith("\r\n\r\n") and head.count("\r\n\r\n") == 1
    assert head.count("\r") == head.count("\n") == head.count("\r\n")  # no bare CR or LF anywhere
    return head[:-4].split("\r\n")


def test_clean_head_is_sent_as_given() -> None:
    request = HttpRequest("POST", "/a%2Fb", "x=1&x=2", [("Host", "h"), ("Cookie", "a=1"), ("Cookie", "b=2")], b"body")
    assert head_lines(request) == ["POST /a%2Fb?x=1&x=2 HTTP/1.1", "Host: h", "Cookie: a=1", "Cookie: b=2",
                                   "Content-Length: 4"]
    assert head_lines(HttpRequest("GET", "/", "", [("Host", "h")])) == ["GET / HTTP/1.1", "Host: h"]


@pytest.mark.parametrize(("name", "value", "want"), [
    ("X-A", "1\r\nX-Injected: yes", "X-A: 1  X-Injected: yes"),
    ("X-A", "1\nX-Injected: yes", "X-A: 1 X-Injected: yes"),
    ("X-A", "1\rX-Injected: yes", "X-A: 1 X-Injected: yes"),
    ("X-A", "nul\x00here", "X-A: nul here"),
    ("X-Bad Name", "v", None),
    ("X-Bad:Name", "v", None),
    ("X-Bad\r\nX-Injected", "v", None),
    ("", "v", None),
])
def test_control_characters_are_blanked_and_bad_names_dropped(name: str, value: str, want: str | None) -> None:
    lines = head_lines(HttpRequest("GET", "/", "", [("Host", "h"), (name, value), ("Accept", "*/*")]))
    assert lines == ["GET / HTTP/1.1", "Host: h", *([want] if want else []), "Accept: */*"]
    assert not any(line.startswith("X-Injected") for line in lines)


@pytest.mark.parametrize(("method", "path"), [("GET X", "/"), ("G\r\nET", "/"), ("GET", "/a b"), ("GET", "/a\r\nb")])
def test_bad_method_or_target_is_refused(method: str, path: str) -> None:
    with pytest.raises(UpstreamError) as error:
        serialize_head(HttpRequest(method, path, "", [("Host", "h")]))
    assert error.value.kind == "bad_request"


@given(st.lists(st.tuples(st.text(min_size=0, max_size=12), st.text(max_size=20)), max_size=8))
def test_any_headers_give_one_line_each_at_most(headers: list[tuple[str, str]]) -> None:
    lines = head_lines(HttpRequest("GET", "/", "", [("Host", "h"), *headers]))
    assert len(lines) <= 2 + len(headers)
    for line in lines[1:]:
        name, sep, _ = line.partition(": ")
        assert sep and name and all(c.isalnum() or c in "!#$%&'*+-.^_`|~" for c in name)
