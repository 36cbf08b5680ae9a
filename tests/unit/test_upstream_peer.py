"""Which app process a connection talks to (Upstream.peer_pid): the one that listened when it was opened, so a
failure is laid at the door of that process, not of whichever app is current when a delayed worker looks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from reweb.http import HttpRequest
from reweb.upstream import Upstream

LIMIT = 1 << 20


class Pids:
    """An app view whose app process is each of `pids` in turn, one per question."""

    def __init__(self, *pids: int) -> None:
        self.pids = iter(pids)

    def app_pid(self) -> int:
        return next(self.pids)

    def app_lives(self) -> bool:
        return True


@pytest.fixture
def server() -> Iterator[tuple[int, list[int]]]:
    """A keep-alive app on loopback that answers 200 "ok" to every request; the list counts its connections."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
                while b"\r\n\r\n" in data:
                    _, _, data = data.partition(b"\r\n\r\n")
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1], accepted
    listener.close()


def test_a_connection_knows_the_app_process_that_listened(server: tuple[int, list[int]]) -> None:
    port, accepted = server
    upstream = Upstream(port, view=Pids(4242, 4242))
    assert upstream.peer_pid == 0
    assert upstream.exchange(HttpRequest("GET", "/"), time.monotonic() + 5, LIMIT).body == b"ok"
    assert upstream.peer_pid == 4242 and len(accepted) == 1
    upstream.close()


def test_a_restart_during_the_connect_makes_it_connect_again(server: tuple[int, list[int]]) -> None:
    """The app's pid changed while connecting (a crash and a restart): the peer could be the old process or the
    new one, so that connection is dropped and another opened, whose peer is known."""
    port, accepted = server
    upstream = Upstream(port, view=Pids(100, 200, 200, 200))
    assert upstream.exchange(HttpRequest("GET", "/"), time.monotonic() + 5, LIMIT).body == b"ok"
    assert upstream.peer_pid == 200
    assert len(accepted) == 2
    upstream.close()
