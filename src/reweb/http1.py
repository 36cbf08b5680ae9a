"""A small, fast HTTP/1.1 client connection: one persistent socket, blocking I/O.

Used for both the Runtime API and the app. Hand-written rather than http.client because http.client parses
every header block with the email package (tens of µs per exchange, billed on every invocation) and gives no
hook to set TCP_QUICKACK; see docs/performance.md for the numbers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from io import BufferedReader, BytesIO

from .http import Headers

MAX_LINE = 65536
MAX_HEADERS = 256
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class ProtocolError(Exception):
    """The peer sent something that is not HTTP/1.x."""


class PeerClosed(ConnectionError):
    """The peer closed the connection before sending anything."""


class ResponseHead:
    __slots__ = ("chunked", "headers", "keep_alive", "length", "reason", "status")

    def __init__(self, status: int, reason: str, headers: Headers, length: int | None, chunked: bool,
                 keep_alive: bool) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.length = length  # Content-Length, or None
        self.chunked = chunked
        self.keep_alive = keep_alive

    def get(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class Connection:
    def __init__(self, host: str, port: int, *, quickack: bool = False) -> None:
        self.host = host
        self.port = port
        self.quickack = quickack and _QUICKACK is not None
        self.sock: socket.socket | None = None
        self.reader: BufferedReader = BufferedReader(BytesIO())  # replaced on connect
        self.used = False  # True once a full exchange completed: a failure then may be a stale socket

    # -- connection management -------------------------------------------------------------------------

    def connect(self, timeout: float | None) -> None:
        self.close()
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.reader = sock.makefile("rb", buffering=65536)  # type: ignore[assignment]
        self.used = False

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.reader.close()
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    @property
    def connected(self) -> bool:
        return self.sock is not None

    def settimeout(self, timeout: float | None) -> None:
        assert self.sock is not None
        self.sock.settimeout(timeout)

    # -- writing ----------------------------------------------------------------------------------------

    def send(self, head: bytes, body: bytes = b"") -> None:
        self.send_parts([head, body] if body else [head])
        if self.quickack:
            # Our request turned on delayed ACKs. An app that writes headers and body in two sends
            # (Nagle on its side) would wait ~40 ms for our ACK of the first: ask for immediate ACKs.
            self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)  # type: ignore[union-attr,arg-type]

    def send_parts(self, parts: list[bytes]) -> None:
        """Scatter-gather send: one syscall, no concatenation of large bodies."""
        assert self.sock is not None
        sent = self.sock.sendmsg(parts)
        if sent == sum(map(len, parts)):
            return
        views = [memoryview(part) for part in parts if part]
        while views:
            while sent and views:
                if sent >= len(views[0]):
                    sent -= len(views.pop(0))
                else:
                    views[0] = views[0][sent:]
                    sent = 0
            if views:
                sent = self.sock.sendmsg(views)

    def send_raw(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    # -- reading ----------------------------------------------------------------------------------------

    def read_head(self, head_request: bool = False) -> ResponseHead:
        """Read a status line and headers, skipping 1xx interim responses."""
        reader = self.reader
        while True:
            # Fast path: the whole head is usually in the first segment; take it with one peek and one read.
            buffered = reader.peek(1)
            end = buffered.find(b"\r\n\r\n")
            raw = reader.read(end + 4)[:-2] if end > 0 else self._read_head_lines()
            head = _parse_head(raw, head_request)
            if head.status >= 200 or head.status == 101:
                return head

    def _read_head_lines(self) -> bytes:
        reader = self.reader
        line = reader.readline(MAX_LINE)
        while line in (b"\r\n", b"\n"):
            line = reader.readline(MAX_LINE)  # tolerate stray blank lines between responses
        if not line:
            raise PeerClosed("connection closed before a response")
        lines = [line]
        while True:
            line = reader.readline(MAX_LINE)
            if not line:
                raise ProtocolError("connection closed inside the response head")
            if line in (b"\r\n", b"\n"):
                return b"".join(lines)
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                raise ProtocolError(f"more than {MAX_HEADERS} header lines")

    def read_body(self, head: ResponseHead, limit: int | None = None) -> bytes:
        """The whole body. Raises BodyTooLarge past `limit` bytes."""
        reader = self.reader
        if head.chunked:
            parts = []
            total = 0
            for chunk in self._chunks():
                total += len(chunk)
                if limit is not None and total > limit:
                    raise BodyTooLarge(total, exact=False)
                parts.append(chunk)
            return b"".join(parts)
        if head.length is not None:
            if limit is not None and head.length > limit:
                raise BodyTooLarge(head.length, exact=True)
            data = reader.read(head.length)
            if len(data) < head.length:
                raise ProtocolError(f"body ended after {len(data)} of {head.length} bytes")
            return data
        # Body delimited by the end of the connection.
        if limit is None:
            return reader.read()
        data = reader.read(limit + 1)
        if len(data) > limit:
            raise BodyTooLarge(len(data), exact=False)
        return data

    def iter_body(self, head: ResponseHead, chunk_size: int = 65536) -> Iterator[bytes]:
        """The body as the peer sends it: each piece yielded as soon as it arrives."""
        reader = self.reader
        if head.chunked:
            yield from self._chunks(streaming=True)
            return
        remaining = head.length
        while remaining is None or remaining > 0:
            want = chunk_size if remaining is None else min(chunk_size, remaining)
            data = reader.read1(want)
            if not data:
                if remaining is None:
                    return
                raise ProtocolError(f"body ended with {remaining} bytes missing")
            if remaining is not None:
                remaining -= len(data)
            yield data

    def _chunks(self, streaming: bool = False) -> Iterator[bytes]:
        reader = self.reader
        while True:
            line = reader.readline(MAX_LINE)
            if not line:
                raise ProtocolError("connection closed inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {line[:40]!r}") from None
            if size == 0:
                while True:  # trailers, ignored
                    line = reader.readline(MAX_LINE)
                    if line in (b"\r\n", b"\n", b""):
                        return
            if streaming:
                remaining = size
                while remaining:
                    data = reader.read1(min(remaining, 1 << 20))
                    if not data:
                        raise ProtocolError("connection closed inside a chunk")
                    remaining -= len(data)
                    yield data
            else:
                data = reader.read(size)
                if len(data) < size:
                    raise ProtocolError("connection closed inside a chunk")
                yield data
            if reader.readline(MAX_LINE) not in (b"\r\n", b"\n"):
                raise ProtocolError("chunk not followed by CRLF")


class BodyTooLarge(Exception):
    def __init__(self, size: int, exact: bool) -> None:
        super().__init__(size)
        self.size = size
        self.exact = exact


def _parse_head(raw: bytes, head_request: bool) -> ResponseHead:
    """Status line and header lines (each ending in CRLF or LF), without the blank line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # keeps every byte; nothing else can be done for such a header
    # Split on LF only: str.splitlines() would also split inside values at \x0c, \x1c, U+2028...
    status_line, *header_lines = text.lstrip("\r\n").replace("\r\n", "\n").rstrip("\n").split("\n")
    if len(header_lines) > MAX_HEADERS:
        raise ProtocolError(f"more than {MAX_HEADERS} header lines")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    version, status = parts[0], int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers: Headers = []
    length: int | None = None
    chunked = False
    keep_alive = version != "HTTP/1.0"
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name[-1] in " \t":
            if line[:1] in (" ", "\t") and headers:  # obsolete line folding
                headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
                continue
            raise ProtocolError(f"bad header line {line[:80]!r}")
        value = value.strip(" \t")
        headers.append((name, value))
        size = len(name)
        if size != 14 and size != 17 and size != 10:
            continue  # not one of the three framing headers: skip the lower() on the hot path
        lower = name.lower()
        if lower == "content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise ProtocolError(f"bad Content-Length {value!r}")
            length = int(value)
        elif lower == "transfer-encoding":
            chunked = value.lower().endswith("chunked")
        elif lower == "connection":
            tokens = value.lower()
            if "close" in tokens:
                keep_alive = False
            elif "keep-alive" in tokens:
                keep_alive = True
    if head_request or status in (204, 304) or 100 <= status < 200:
        length, chunked, keep_alive = 0, False, keep_alive
    elif chunked:
        length = None
    elif length is None:
        keep_alive = False  # no framing: the body ends when the connection does
    return ResponseHead(status, reason, headers, length, chunked, keep_alive)
