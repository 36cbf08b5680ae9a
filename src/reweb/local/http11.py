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

from ..http import header_value
from ..http1 import MAX_HEADERS, MAX_LINE, ProtocolError, chunk_size, parse_request_head, parse_trailers

# The framing rules (request line, header block, Content-Length / Transfer-Encoding, chunk sizes, trailers) are
# reweb.http1's, the ones the adapter's client side uses: this module only reads lines off an asyncio stream.

Headers = list[tuple[str, str]]


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
    length: int | None = 0  # Content-Length; None when chunked
    chunked: bool = False
    keep_alive: bool = True

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def trailer(self, name: str) -> str | None:
        return header_value(self.trailers, name)

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The body as it arrives; for chunked bodies `trailers` is filled when the iterator ends."""
        if self.consumed:
            return
        self.consumed = True
        if self.chunked:
            while True:
                try:
                    size = chunk_size(await _readline(self.reader))
                    if size == 0:
                        self.trailers = parse_trailers(await _read_head(self.reader))
                        return
                except ProtocolError as exc:
                    raise BadRequest(str(exc)) from exc
                data = await self.reader.readexactly(size)
                if await self.reader.readexactly(2) != b"\r\n":
                    raise BadRequest("chunk not followed by CRLF")
                yield data
        else:
            remaining = self.length or 0
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
    """One line with its line end."""
    line = await reader.readuntil(b"\n")
    if len(line) > MAX_LINE:
        raise BadRequest("line too long")
    return line


async def _read_head(reader: asyncio.StreamReader, first: bytes = b"") -> bytes:
    """The lines up to the blank line that ends a head (or a trailer section), without it."""
    lines = [first] if first else []
    while True:
        line = await _readline(reader)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)
        if len(lines) > MAX_HEADERS:
            raise BadRequest("too many headers")
        lines.append(line)


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on a connection, or None when the client closed it cleanly."""
    try:
        line = await _readline(reader)
        while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between requests (RFC 9112 2.2)
            line = await _readline(reader)
    except asyncio.IncompleteReadError:
        return None
    try:
        head = parse_request_head(await _read_head(reader, line))
    except ProtocolError as exc:
        raise BadRequest(str(exc)) from exc
    return Request(head.method, head.target, head.version, head.headers, reader, length=head.length,
                   chunked=head.chunked, keep_alive=head.keep_alive)


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
