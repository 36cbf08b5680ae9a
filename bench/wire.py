"""Just enough HTTP/1.1 for the benchmark's own client and Runtime API server, written to be cheap:
big bodies are read with recv_into into one preallocated buffer, and nothing is parsed that is not needed."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

_SCRATCH = 1 << 20
DELIMITER = b"\x00" * 8


class Closed(ConnectionError):
    pass


def header(head_lower: bytes, name: bytes) -> bytes | None:
    """The value of a header in a lower-cased head block (first occurrence), stripped."""
    at = head_lower.find(b"\n" + name + b":")
    if at < 0:
        return None
    end = head_lower.find(b"\r\n", at + 1)
    return head_lower[at + len(name) + 2:end if end > 0 else len(head_lower)].strip()


def send_parts(sock: socket.socket, parts: Sequence[bytes]) -> None:
    """sendmsg without joining the parts (no copy of a big body); finishes partial sends."""
    sent = sock.sendmsg(parts)
    total = sum(len(p) for p in parts)
    if sent == total:
        return
    for part in parts:
        if sent >= len(part):
            sent -= len(part)
            continue
        sock.sendall(memoryview(part)[sent:])
        sent = 0


class Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.scratch = memoryview(bytearray(_SCRATCH))

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise Closed("peer closed the connection")
        self.buf += data

    def head(self) -> bytes:
        """The request or status line plus headers, without the blank line."""
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = bytes(self.buf[:end])
        del self.buf[:end + 4]
        return head

    def line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            self._fill()
        line = bytes(self.buf[:end])
        del self.buf[:end + 2]
        return line

    def exact(self, count: int) -> bytes:
        if len(self.buf) >= count:
            data = bytes(self.buf[:count])
            del self.buf[:count]
            return data
        out = bytearray(count)
        have = len(self.buf)
        out[:have] = self.buf
        self.buf.clear()
        view = memoryview(out)
        while have < count:
            got = self.sock.recv_into(view[have:])
            if not got:
                raise Closed("peer closed mid-body")
            have += got
        return bytes(out)

    def skip(self, count: int) -> None:
        take = min(count, len(self.buf))
        del self.buf[:take]
        count -= take
        while count > 0:
            got = self.sock.recv_into(self.scratch, min(count, _SCRATCH))
            if not got:
                raise Closed("peer closed mid-body")
            count -= got

    def body(self, head_lower: bytes, keep: bool) -> tuple[bytes, int]:
        """Read a Content-Length or chunked body: (bytes if keep else b"", size)."""
        length = header(head_lower, b"content-length")
        if length is not None:
            size = int(length)
            if keep:
                return self.exact(size), size
            self.skip(size)
            return b"", size
        if header(head_lower, b"transfer-encoding") == b"chunked":
            stream = ChunkedStream(self, keep_prefix=1 << 62 if keep else 0)
            stream.read_all()
            return stream.kept, stream.size
        return b"", 0


class ChunkedStream:
    """Reads a chunked body and keeps its first `keep_prefix` bytes. With `prelude`, the body starts with a
    streaming prelude (JSON + 8 NUL bytes): that goes to `prelude_json` and `size` counts only what follows.
    `first_byte_at` is when the first body byte (past any prelude) arrived."""

    def __init__(self, reader: Reader, keep_prefix: int = 0, prelude: bool = False) -> None:
        self.reader = reader
        self.keep_prefix = keep_prefix
        self.prelude = prelude
        self.prelude_json = b""
        self.kept = b""
        self.size = 0  # bytes after the prelude (all bytes without one)
        self.first_byte_at = 0.0
        self.trailers: list[bytes] = []

    def read_all(self) -> None:
        reader = self.reader
        in_prelude = self.prelude
        pending = bytearray()
        kept = bytearray()
        while True:
            size = int(reader.line().split(b";")[0], 16)
            if size == 0:
                while line := reader.line():
                    self.trailers.append(line)
                self.kept = bytes(kept)
                return
            if in_prelude:
                pending += reader.exact(size)
                at = pending.find(DELIMITER)
                if at >= 0:
                    in_prelude = False
                    self.prelude_json = bytes(pending[:at])
                    rest = len(pending) - at - len(DELIMITER)
                    if rest:
                        self.first_byte_at = time.perf_counter()
                        self.size += rest
            else:
                if not self.first_byte_at:
                    self.first_byte_at = time.perf_counter()
                if len(kept) < self.keep_prefix:
                    kept += reader.exact(size)
                else:
                    reader.skip(size)
                self.size += size
            if reader.line():
                raise ValueError("chunk not followed by CRLF")
