"""aws.connection with a deadline (the offload's, the invocation's): connecting keeps within it. A numeric host
(an endpoint given as an IP, moto on 127.0.0.1) needs no resolver; a name's resolution cannot be bounded (no
timeout in getaddrinfo), but what comes after it can: past the deadline then, TimeoutError, no connect."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from reweb.aws import connection


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def test_a_numeric_host_is_connected_to_without_the_resolver(listener: socket.socket,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def no_resolver(*args: object, **kw: object) -> object:
        raise AssertionError(f"getaddrinfo{args} for a numeric host")

    monkeypatch.setattr(socket, "getaddrinfo", no_resolver)
    port = listener.getsockname()[1]
    conn = connection(urlsplit(f"http://127.0.0.1:{port}"), 5.0, deadline=time.monotonic() + 30)
    conn.connect()
    try:
        peer, _ = listener.accept()
        peer.close()
    finally:
        conn.close()


def test_a_resolution_that_ends_past_the_deadline_connects_nowhere(listener: socket.socket,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    port = listener.getsockname()[1]
    listener.settimeout(0.5)

    def slow_resolver(host: str, *args: object, **kw: object) -> list[tuple[object, ...]]:
        time.sleep(0.3)  # the resolver's own timeouts (resolv.conf), past the deadline
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    conn = connection(urlsplit(f"http://s3.example.test:{port}"), 5.0, deadline=time.monotonic() + 0.1)
    with pytest.raises(TimeoutError):
        conn.connect()
    conn.close()
    with pytest.raises(TimeoutError):  # nothing connected
        listener.accept()


def test_a_name_resolved_in_time_is_connected_to(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    port = listener.getsockname()[1]
    asked: list[str] = []

    def resolver(host: str, *args: object, **kw: object) -> list[tuple[object, ...]]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    conn = connection(urlsplit(f"http://s3.example.test:{port}"), 5.0, deadline=time.monotonic() + 30)
    conn.connect()
    try:
        peer, _ = listener.accept()
        peer.close()
    finally:
        conn.close()
    assert asked == ["s3.example.test"]
