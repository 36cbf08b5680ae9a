"""http1's parse caches (header names seen before, status lines seen before) must never change a verdict: what
is refused the first time is refused every time, whatever was parsed in between."""

from __future__ import annotations

import pytest

from reweb import http1
from reweb.events.common import EventError, want_method


def _parse(raw: bytes) -> tuple[int, str, list[tuple[str, str]], int | None, bool, bool]:
    head = http1.parse_response_head(raw)
    return head.status, head.reason, head.headers, head.length, head.chunked, head.keep_alive


def test_the_same_head_parses_the_same_the_second_time() -> None:
    raw = b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 3\r\nX-A:  v \t\r\n"
    assert _parse(raw) == _parse(raw) == (200, "OK", [("Server", "x"), ("Content-Length", "3"), ("X-A", "v")],
                                          3, False, True)


@pytest.mark.parametrize("bad", [
    b"HTTP/1.1 200 OK\r\nServer\r\nContent-Length: 0\r\n",  # a known name, but no colon
    b"HTTP/1.1 200 OK\r\nServer : x\r\nContent-Length: 0\r\n",  # whitespace before the colon
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length: 1\r\n",  # framing names are never cached as plain
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n",
    b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n",
    b"HTTP/2 200 OK\r\nContent-Length: 0\r\n",
])
def test_refused_after_the_names_and_status_line_were_seen_valid(bad: bytes) -> None:
    _parse(b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n")  # fills the caches
    for _ in range(2):
        with pytest.raises(http1.ProtocolError):
            http1.parse_response_head(bad)


def test_framing_fields_in_any_case_are_always_read() -> None:
    for _ in range(2):
        assert _parse(b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 5\r\n")[3] == 5
        assert _parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n")[4] is True
        assert _parse(b"HTTP/1.1 200 OK\r\nconnection: close\r\nContent-Length: 0\r\n")[5] is False


@pytest.mark.parametrize(("version", "connection", "keep"), [
    ("HTTP/1.1", "", True), ("HTTP/1.0", "", False), ("HTTP/1.2", "", True), ("HTTP/1.0", "keep-alive", True),
    ("HTTP/1.1", "close", False),
])
def test_keep_alive_by_version_and_connection(version: str, connection: str, keep: bool) -> None:
    extra = f"Connection: {connection}\r\n" if connection else ""
    for _ in range(2):
        raw = f"{version} 200 OK\r\n{extra}Content-Length: 0\r\n".encode()
        assert http1.parse_response_head(raw).keep_alive is keep


def test_want_method_takes_tokens_only() -> None:
    assert want_method("get", "m") == "GET"
    for bad in ("", "GE T", "GET\r\n", "G(ET"):
        with pytest.raises(EventError):
            want_method(bad, "m")
