"""The floor: the same requests sent straight to the app over one keep-alive connection, by a client as
cheap as the benchmark's Runtime API driver (same reader, same timing points)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from common import HOST
from wire import ChunkedStream, Reader, header, send_parts


@dataclass
class Timing:
    latency: float
    size: int
    first_byte: float = 0.0


class DirectClient:
    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> DirectClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, parts: list[bytes]) -> Timing:
        start = time.perf_counter()
        send_parts(self.sock, [p for p in parts if p])
        head = self.reader.head().lower()
        if header(head, b"transfer-encoding") == b"chunked":
            stream = ChunkedStream(self.reader)
            stream.read_all()
            return Timing(time.perf_counter() - start, stream.size, stream.first_byte_at - start)
        _, size = self.reader.body(head, keep=False)
        return Timing(time.perf_counter() - start, size)
