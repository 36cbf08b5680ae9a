"""Just enough HTTP/1.1 server parsing for the Runtime API, on plain asyncio streams.

Why not aiohttp here: aiohttp reads a chunked request body but silently drops its trailers, and a
streamed Lambda response reports a mid-stream failure in exactly those trailers
(Lambda-Runtime-Function-Error-Type / -Body). So this side speaks HTTP/1.1 itself: request line,
headers, Content-Length or chunked bodies with trailers, keep-alive. Nothing else is needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

Headers = list[tuple[str, str]]

MAX_LINE = 64 * 1024
MAX_HEADERS = 200


class BadRequest(Exception):
    pass


class BodyTooLarge(Exception):
    pass


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str
    headers: Headers
    reader: asyncio.StreamReader
    trailers: Headers = field(default_factory=list)
    consumed: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == name:
                return value
        return None

    def trailer(self, name: str) -> str | None:
        name = name.lower()
        for key, value in reversed(self.trailers):
            if key.lower() == name:
                return value
        return None

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("transfer-encoding") or "").lower()

    @property
    def keep_alive(self) -> bool:
        conn = (self.header("connection") or "").lower()
        return "close" not in conn if self.version == "HTTP/1.1" else "keep-alive" in conn

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The body as it arrives; for chunked bodies `trailers` is filled when the iterator ends."""
        if self.consumed:
            return
        self.consumed = True
        if self.chunked:
            while True:
                size_line = await _readline(self.reader)
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError as exc:
                    raise BadRequest("bad chunk size") from exc
                if size == 0:
                    self.trailers = await _read_headers(self.reader)
                    return
                data = await self.reader.readexactly(size)
                if await self.reader.readexactly(2) != b"\r\n":
                    raise BadRequest("chunk not followed by CRLF")
                yield data
        else:
            remaining = int(self.header("content-length") or "0")
            while remaining > 0:
                data = await self.reader.read(min(remaining, 65536))
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(data)
                yield data

    async def read_body(self, limit: int) -> bytes:
        """The whole body; past `limit` the rest is drained and BodyTooLarge raised."""
        parts: list[bytes] = []
        size = 0
        too_large = False
        async for data in self.iter_body():
            size += len(data)
            if size > limit:
                too_large = True
                parts.clear()
            elif not too_large:
                parts.append(data)
        if too_large:
            raise BodyTooLarge(size)
        return b"".join(parts)

    async def drain(self) -> None:
        async for _ in self.iter_body():
            pass


async def _readline(reader: asyncio.StreamReader) -> bytes:
    line = await reader.readuntil(b"\n")
    if len(line) > MAX_LINE:
        raise BadRequest("line too long")
    return line.rstrip(b"\r\n")


async def _read_headers(reader: asyncio.StreamReader) -> Headers:
    headers: Headers = []
    while True:
        line = await _readline(reader)
        if not line:
            return headers
        if len(headers) >= MAX_HEADERS:
            raise BadRequest("too many headers")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line")
        headers.append((name, value.strip()))


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a connection, or None when the client closed it cleanly."""
    try:
        line = await _readline(reader)
        while not line:  # tolerate stray CRLF between requests (RFC 9112 2.2)
            line = await _readline(reader)
    except asyncio.IncompleteReadError:
        return None
    parts = line.decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("bad request line")
    headers = await _read_headers(reader)
    return Request(parts[0], parts[1], parts[2], headers, reader)


_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 413: "Request Entity Too Large", 500: "Internal Server Error"}


def response_bytes(status: int, body: bytes = b"", headers: Headers | None = None,
                   *, close: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
