"""reweb.local.ports: a port handed out is free, and is not handed out again soon (bind(0) alone can repeat)."""

from __future__ import annotations

import socket

from reweb.local.ports import free_port


def test_ports_are_free_and_never_repeat_within_the_window() -> None:
    ports = [free_port() for _ in range(3000)]
    for start in range(0, len(ports) - 2048, 500):
        window = ports[start:start + 2048]
        assert len(set(window)) == len(window)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))  # and the last one really is free
