"""reweb's one HTTP/1.1 wire module: the pure framing rules, and a small, fast client connection on top of them.

The pure part (no I/O) is shared by every side that speaks HTTP/1.1: the chunk-size parser, the header-block
parser (status line for the client, request line for the emulator's server, trailers), the request-head writer.
The client (Connection: one persistent socket, blocking I/O) talks to both the Runtime API and the app; the
emulator's Runtime API (local/http11.py) reads requests with the same functions on asyncio streams. One rule
each, so the two sides cannot disagree on what valid HTTP/1.1 is.

The client is hand-written rather than http.client because http.client parses every header block with the email
package (tens of µs per exchange, billed on every invocation) and gives no hook to set TCP_QUICKACK; see
docs/performance.md for the numbers.

The app may be anything, so everything it sends is checked as a production reverse proxy would: one deadline
bounds a whole exchange (not each read), a body is refused before it is read when it would pass the limit, and
the connection is reused only when the last answer ended exactly on its framing with nothing more to read.
"""

from __future__ import annotations

import _socket  # not socket: socket.py builds its enums and imports selectors, math, array (ms of every Init)
import io
import re
import select
from collections.abc import Iterator
from time import monotonic

from .http import Headers, header_value

MAX_LINE = 65536
MAX_HEADERS = 256
MAX_INTERIM = 32  # 1xx answers before the real one; more is an app stuck in a loop
_QUICKACK = getattr(_socket, "TCP_QUICKACK", None)
_HEX = b"0123456789abcdefABCDEF"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_KNOWN_NAMES: set[str] = set()  # header names already checked: the same few dozen recur on every message
# Header names _fields has seen that are tokens and not one of the framing fields, in any case: a line with such a
# name needs no check but its value's trim (one set lookup instead of a token check and a framing test).
_PLAIN_NAMES: set[str] = set()
_STATUS_LINES: dict[str, tuple[str, int, str]] = {}  # valid status lines seen: (version, status, reason)
_CONTROL = re.compile(r"[\r\n\x00]")
_BAD_TARGET = re.compile(r"[\x00-\x20]")
_EXT_CONTROL = bytes(range(9)) + bytes(range(10, 32)) + b"\x7f"  # in a chunk-ext: any CTL but HTAB
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})  # tokens: no regex for these


class ProtocolError(Exception):
    """The peer sent something that is not valid HTTP/1.1."""


class PeerClosed(ConnectionError):
    """The peer closed the connection before sending anything."""


class UpgradeRefused(ProtocolError):
    """The peer answered 101 Switching Protocols: Lambda cannot carry an upgraded connection."""


class Truncated(ProtocolError):
    """The peer closed the connection in the middle of an answer."""


class BodyTooLarge(Exception):
    def __init__(self, size: int, exact: bool) -> None:
        super().__init__(size)
        self.size = size
        self.exact = exact


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
        return header_value(self.headers, name)  # the one rule: the last value wins


class _SocketReader(io.RawIOBase):
    """The socket under the buffered reader.

    Timed (the app's connection): the socket is non-blocking and every recv first polls for at most the time
    left until `deadline` (monotonic), so one deadline covers a whole exchange; a per-recv timeout would let an
    app that trickles a byte a second run forever. No settimeout() per read: that is an ioctl each time.
    In `probing` mode it reads nothing at all, so a peek() shows only what is already buffered."""

    def __init__(self, sock: _socket.socket, timed: bool) -> None:
        self.sock = sock
        self.timed = timed
        self.deadline: float | None = None
        self.probing = False
        self.eof = False
        self.received = 0  # bytes since the current exchange began
        self.poll_in = select.poll()
        self.poll_in.register(sock, select.POLLIN)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int | None:  # type: ignore[override]
        if self.probing:
            return None
        if self.timed:
            deadline = self.deadline
            if not self.poll_in.poll(-1 if deadline is None else _poll_ms(deadline)):
                raise TimeoutError("the deadline passed")
        count = self.sock.recv_into(buffer)
        if count == 0:
            self.eof = True
        self.received += count
        return count


def _poll_ms(deadline: float) -> int:
    remaining = deadline - monotonic()
    if remaining <= 0:
        raise TimeoutError("the deadline passed")
    return int(remaining * 1000) + 1  # round up: poll() must not return before the time is really up


class Connection:
    def __init__(self, host: str, port: int, *, quickack: bool = False, timed: bool = False) -> None:
        """timed: every exchange has a deadline (set_deadline) that bounds all of its I/O."""
        self.host = host
        self.port = port
        self.quickack = quickack and _QUICKACK is not None
        self.timed = timed
        self.sock: _socket.socket | None = None
        self.raw: _SocketReader | None = None
        self.reader: io.BufferedReader = io.BufferedReader(io.BytesIO())  # replaced on connect
        self.poll_out: select.poll | None = None
        self.used = False  # True once a full exchange completed: a failure then may be a stale socket
        self.deadline: float | None = None  # monotonic end of the current exchange, None = no limit

    # -- connection management -------------------------------------------------------------------------

    def connect(self) -> None:
        self.close()
        timeout = None if self.deadline is None else _poll_ms(self.deadline) / 1000
        sock = open_socket(self.host, self.port, timeout)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.settimeout(0.0 if self.timed else None)  # timed: non-blocking, we poll ourselves
        self.sock = sock
        self.raw = _SocketReader(sock, self.timed)
        self.raw.deadline = self.deadline
        self.reader = io.BufferedReader(self.raw, 65536)
        if self.timed:
            self.poll_out = select.poll()
            self.poll_out.register(sock, select.POLLOUT)
        self.used = False

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()  # never raises for a connected TCP socket (ECONNRESET is ignored)
            self.sock = None
            self.raw = None

    @property
    def connected(self) -> bool:
        return self.sock is not None

    def set_deadline(self, deadline: float | None) -> None:
        """Every later read, write and connect of this exchange ends by `deadline` (monotonic seconds)."""
        self.deadline = deadline
        raw = self.raw
        if raw is not None:
            raw.deadline = deadline
            raw.received = 0

    def leftover(self) -> int:
        """Bytes that are buffered or readable right now without waiting, or -1 when the peer has closed.
        0 means the connection is idle and clean: safe to send the next request on it."""
        raw = self.raw
        if raw is None:
            return -1
        raw.probing = True
        try:
            extra = self.reader.peek(1)  # what is buffered already, no syscall
        finally:
            raw.probing = False
        if extra:
            return len(extra)
        if raw.eof:
            return -1
        if not raw.poll_in.poll(0):
            return 0  # the common case: one poll() syscall
        try:  # readable: stray bytes or the peer's FIN; the connection is closed either way
            count = raw.sock.recv_into(bytearray(4096), 4096, _socket.MSG_DONTWAIT)
        except BlockingIOError:
            return 0
        except OSError:
            return -1
        return count or -1

    @property
    def received(self) -> int:
        """Bytes of answer received since the exchange began (0: the peer has not answered at all)."""
        return 0 if self.raw is None else self.raw.received

    # -- writing ----------------------------------------------------------------------------------------

    def send(self, head: bytes, body: bytes = b"") -> None:
        self.send_parts([head, body] if body else [head])
        if self.quickack:
            # Our request turned on delayed ACKs. An app that writes headers and body in two sends
            # (Nagle on its side) would wait ~40 ms for our ACK of the first: ask for immediate ACKs.
            self.sock.setsockopt(_socket.IPPROTO_TCP, _QUICKACK, 1)  # type: ignore[union-attr,arg-type]

    def send_parts(self, parts: list[bytes]) -> None:
        """Scatter-gather send: one syscall, no concatenation of large bodies."""
        try:
            sent = self.sock.sendmsg(parts)  # type: ignore[union-attr]
        except BlockingIOError:  # timed, and the app is not reading
            sent = self._wait_for_room()
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
                sent = self._sendmsg(views)

    def _sendmsg(self, parts: list[bytes] | list[memoryview]) -> int:
        sock = self.sock
        assert sock is not None
        if not self.timed:
            return sock.sendmsg(parts)
        try:
            return sock.sendmsg(parts)
        except BlockingIOError:
            return self._wait_for_room()

    def _wait_for_room(self) -> int:
        """The app is not reading (a timed, non-blocking socket): wait until it can take more, until the deadline.
        Nothing was sent: 0."""
        assert self.poll_out is not None
        if not self.poll_out.poll(-1 if self.deadline is None else _poll_ms(self.deadline)):
            raise TimeoutError("the deadline passed")
        return 0

    def send_raw(self, data: bytes) -> None:
        self.send_parts([data])

    # -- reading ----------------------------------------------------------------------------------------

    def read_head(self, head_request: bool = False) -> ResponseHead:
        """Read a status line and headers. 100 Continue and other 1xx interim answers are skipped (a non-100
        one also ends keep-alive: such apps are best not trusted with framing); 101 is an error, as Lambda
        cannot carry an upgraded connection."""
        reader = self.reader
        reusable = True
        for _ in range(MAX_INTERIM):
            # Fast path: the whole head is usually in the first segment; take it with one peek and one read.
            buffered = reader.peek(1)
            end = buffered.find(b"\r\n\r\n")
            raw = reader.read(end + 4)[:-2] if end > 0 else self._read_head_lines()
            head = parse_response_head(raw, head_request)
            status = head.status
            if status >= 200:
                if not reusable:
                    head.keep_alive = False
                return head
            if status == 101:
                raise UpgradeRefused("101 Switching Protocols: Lambda's front doors cannot carry an upgraded "
                                     "connection (WebSocket)")
            if status != 100:
                reusable = False
        raise ProtocolError(f"more than {MAX_INTERIM} interim (1xx) answers")

    def _read_head_lines(self) -> bytes:
        reader = self.reader
        line = reader.readline(MAX_LINE)
        blanks = 0
        while line in (b"\r\n", b"\n"):
            blanks += 1
            if blanks > 8:
                raise ProtocolError("blank lines instead of a status line")
            line = reader.readline(MAX_LINE)  # tolerate a stray blank line or two between responses
        if not line:
            raise PeerClosed("connection closed before a response")
        if not line.endswith(b"\n"):
            raise _unfinished(line, "the status line", f"status line longer than {MAX_LINE} bytes")
        lines = [line]
        while True:
            line = reader.readline(MAX_LINE)
            if not line.endswith(b"\n"):
                raise _unfinished(line, "the response head", f"header line longer than {MAX_LINE} bytes")
            if line in (b"\r\n", b"\n"):
                return b"".join(lines)
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                raise ProtocolError(f"more than {MAX_HEADERS} header lines")

    def read_body(self, head: ResponseHead, limit: int | None = None) -> bytes:
        """The whole body. Raises BodyTooLarge, before reading, when it would pass `limit` bytes."""
        reader = self.reader
        if head.chunked:
            parts = []
            total = 0
            for chunk in self._chunks(limit):
                total += len(chunk)
                parts.append(chunk)
            return b"".join(parts)
        if head.length is not None:
            if limit is not None and head.length > limit:
                raise BodyTooLarge(head.length, exact=True)
            data = reader.read(head.length)
            if len(data) < head.length:
                raise Truncated(f"the body ended after {len(data)} of {head.length} bytes")
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
            yield from self._chunks(None, streaming=True)
            return
        remaining = head.length
        while remaining is None or remaining > 0:
            want = chunk_size if remaining is None else min(chunk_size, remaining)
            data = reader.read1(want)
            if not data:
                if remaining is None:
                    return
                raise Truncated(f"the body ended with {remaining} bytes missing")
            if remaining is not None:
                remaining -= len(data)
            yield data

    def _chunks(self, limit: int | None, streaming: bool = False) -> Iterator[bytes]:
        reader = self.reader
        total = 0
        while True:
            size = chunk_size(reader.readline(MAX_LINE))
            if size == 0:
                for _ in range(MAX_HEADERS):  # trailers, ignored
                    line = reader.readline(MAX_LINE)
                    if line in (b"\r\n", b"\n"):
                        return
                    if not line.endswith(b"\n"):
                        raise Truncated("connection closed inside the trailers")
                raise ProtocolError(f"more than {MAX_HEADERS} trailer lines")
            total += size
            if limit is not None and total > limit:
                raise BodyTooLarge(total, exact=False)  # before a byte of it is read
            if streaming:
                remaining = size
                while remaining:
                    data = reader.read1(min(remaining, 1 << 20))
                    if not data:
                        raise Truncated("connection closed inside a chunk")
                    remaining -= len(data)
                    yield data
            else:
                data = reader.read(size)
                if len(data) < size:
                    raise Truncated("connection closed inside a chunk")
                yield data
            if reader.readline(3) != b"\r\n":  # CRLF only (RFC 9112 7.1), as the emulator's server side
                raise ProtocolError("a chunk is longer than its size line says")


def _unfinished(line: bytes, inside: str, too_long: str) -> ProtocolError:
    """A line without its LF: the peer closed (Truncated), or the line passed MAX_LINE."""
    return Truncated(f"connection closed inside {inside}") if len(line) < MAX_LINE else ProtocolError(too_long)


# -- the pure framing rules --------------------------------------------------------------------------------------


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line, the line as read (readline(MAX_LINE): with its CRLF, if it ended).
    RFC 9112 7.1: 1*HEXDIG, at most 16 of them (no sign, 0x or _ as int() would take, no leading whitespace),
    then an optional chunk-ext (ignored, but without control bytes), optional whitespace and CRLF. CRLF only:
    the bare-LF leniency of RFC 9112 2.2 is for the start line and field lines, not for the chunk grammar."""
    if not line.endswith(b"\r\n"):
        if line.endswith(b"\n"):
            raise ProtocolError(f"a chunk size line not ended by CRLF: {line[:40]!r}")
        raise _unfinished(line, "a chunked body", "chunk size line too long")
    digits, semi, ext = line[:-2].partition(b";")
    digits = digits.rstrip(b" \t")  # BWS before the ext, or OWS before the CRLF
    if (not digits or len(digits) > 16 or digits.strip(_HEX)
            or (semi and len(ext.translate(None, _EXT_CONTROL)) != len(ext))):
        raise ProtocolError(f"bad chunk size line {line[:40]!r}")
    return int(digits, 16)


def _bad_head(text: str) -> ProtocolError:
    for line in text.split("\n"):
        if "\r" in line or "\x00" in line:
            name = line.partition(":")[0][:40]
            return ProtocolError(f"a CR or NUL byte inside the header line {name!r}")
    return ProtocolError("a CR or NUL byte in the message head")


def _fields(raw: bytes, unfold: bool, start: bool = True) -> tuple[str, Headers, int | None, bool, str]:
    """The one header-block parser: (start line, headers, Content-Length or None, chunked, Connection in lower
    case) of a head whose lines each end in CRLF or LF (RFC 9112 2.2), without the blank line that ends it; with
    start=False there is no start line (trailers). A bare CR or a NUL anywhere is refused: header injection in the
    making. Names must be tokens with no whitespace before the colon; values lose their surrounding SP/HTAB. The
    framing fields are checked as a smuggling-proof proxy does: one Content-Length of ASCII digits, a
    Transfer-Encoding that ends in chunked, never both. obs-fold (RFC 9112 5.2): a client must unfold it
    (unfold=True), a server may refuse it and does (unfold=False); never into a framing field."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # keeps every byte; nothing else can be done for such a header
    # Split on LF only: str.splitlines() would also split inside values at \x0c, \x1c, U+2028...
    text = text.lstrip("\r\n")
    # The usual head, every line ended by CRLF or LF: splitlines() is one pass, cheaper than a two-character
    # replace() and a split(). It breaks at a bare CR and at other separators too (\x0b, \x1c,
    # U+2028...): then it makes more lines than there are LFs, and the head takes the exact path below.
    lines = text.splitlines()
    if len(lines) != text.count("\n") or not lines or not lines[-1] or "\x00" in text:
        text = text.replace("\r\n", "\n").rstrip("\n")
        if "\r" in text or "\x00" in text:
            raise _bad_head(text)
        lines = text.split("\n")
    first = lines.pop(0) if start else ""
    if len(lines) > MAX_HEADERS:
        raise ProtocolError(f"more than {MAX_HEADERS} header lines")
    headers: Headers = []
    length: int | None = None
    chunked = False
    connection = ""
    known = _KNOWN_NAMES
    plain = _PLAIN_NAMES
    for line in lines:
        name, sep, value = line.partition(":")
        if sep and name in plain:  # the usual line: a token seen before, not a framing field
            headers.append((name, value.strip(" \t")))
            continue
        if not sep or name not in known:
            if not sep or _TOKEN.match(name) is None:
                if (unfold and line[:1] in (" ", "\t") and headers
                        and headers[-1][0].lower() not in _FRAMING):  # obsolete line folding
                    headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip(" \t"))
                    continue
                raise ProtocolError(f"bad header line {line[:80]!r}")
            if len(known) < 4096:
                known.add(name)
        value = value.strip(" \t")
        headers.append((name, value))
        lower = name.lower()
        if lower == "content-length":
            if length is not None:
                raise ProtocolError("more than one Content-Length")
            if not value.isascii() or not value.isdigit() or len(value) > 18:
                raise ProtocolError(f"bad Content-Length {value[:40]!r}")
            length = int(value)
        elif lower == "transfer-encoding":
            if value.lower().rsplit(",", 1)[-1].strip(" \t") != "chunked":
                raise ProtocolError(f"Transfer-Encoding {value[:40]!r} does not end in chunked")
            chunked = True
        elif lower == "connection":
            connection = value.lower()
        elif len(plain) < 4096:
            plain.add(name)
    if chunked and length is not None:
        raise ProtocolError("both Content-Length and Transfer-Encoding (a request smuggling pattern)")
    return first, headers, length, chunked, connection


def _keep_alive(version: str, connection: str) -> bool:
    """RFC 9112 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive"."""
    if "close" in connection:
        return False
    return version != "HTTP/1.0" or "keep-alive" in connection


def parse_response_head(raw: bytes, head_request: bool = False) -> ResponseHead:
    """Status line and header lines (each ending in CRLF or LF), without the blank line."""
    status_line, headers, length, chunked, connection = _fields(raw, True)
    known = _STATUS_LINES.get(status_line)
    if known is None:
        known = _status_line(status_line)
        if len(_STATUS_LINES) < 256:
            _STATUS_LINES[status_line] = known
    version, status, reason = known
    keep_alive = _keep_alive(version, connection)
    if head_request or status in (204, 304) or status < 200:
        length, chunked = 0, False
    elif chunked:
        length = None
    elif length is None:
        keep_alive = False  # no framing: the body ends when the connection does
    return ResponseHead(status, reason, headers, length, chunked, keep_alive)


def _status_line(status_line: str) -> tuple[str, int, str]:
    """(version, status, reason) of a valid status line; ProtocolError for any other."""
    parts = status_line.split(" ", 2)
    code = parts[1] if len(parts) > 1 else ""
    if (not parts[0].startswith("HTTP/1.") or len(code) != 3 or not code.isascii() or not code.isdigit()
            or not "100" <= code <= "599"):
        raise ProtocolError(f"not an HTTP/1.x status line (status 100-599): {status_line[:80]!r}")
    return parts[0], int(code), parts[2] if len(parts) > 2 else ""


_parse_head = parse_response_head  # the name bench/stages.py times


class RequestHead:
    __slots__ = ("chunked", "headers", "keep_alive", "length", "method", "target", "version")

    def __init__(self, method: str, target: str, version: str, headers: Headers, length: int | None,
                 chunked: bool, keep_alive: bool) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.length = length  # None when chunked; 0 when the request has no framing (RFC 9112 6.3: no body)
        self.chunked = chunked
        self.keep_alive = keep_alive


def parse_request_head(raw: bytes) -> RequestHead:
    """Request line and header lines (each ending in CRLF or LF), without the blank line: the server side."""
    # A Transfer-Encoding that does not end in chunked is refused by _fields: RFC 9112 6.3 makes it a 400.
    request_line, headers, length, chunked, connection = _fields(raw, False)
    parts = request_line.split(" ")
    if (len(parts) != 3 or not parts[2].startswith("HTTP/1.") or _TOKEN.match(parts[0]) is None
            or not parts[1] or _BAD_TARGET.search(parts[1])):
        raise ProtocolError(f"bad request line {request_line[:80]!r}")
    if length is None and not chunked:
        length = 0
    return RequestHead(parts[0], parts[1], parts[2], headers, length, chunked, _keep_alive(parts[2], connection))


def parse_trailers(raw: bytes) -> Headers:
    """The trailer fields after a last chunk (each line ending in CRLF or LF), without the blank line."""
    if not raw.strip(b"\r\n"):
        return []
    return _fields(raw, False, start=False)[1]


def _all_tokens(headers: Headers) -> bool:
    known = _KNOWN_NAMES
    for name, _ in headers:
        if name not in known:
            if _TOKEN.match(name) is None:
                return False
            if len(known) < 4096:
                known.add(name)
    return True


def header_block(headers: Headers) -> str:
    """Header lines for request_head, each ending in CRLF. A header whose name is not a token is dropped and
    CR, LF and NUL in a value become spaces: whatever a caller passes (an event's headers, an error type), it can
    never add a line or smuggle a second request. Made once for headers that never change (the Runtime API's)."""
    # Clean when no value holds a CR, LF or NUL and every name is a token: three memchr-speed tests a value (a
    # regex over the whole block cost 10 us a request, counting its CRs and LFs 2 us); the repair is the rare path.
    for _, value in headers:
        if "\r" in value or "\n" in value or "\x00" in value:
            break
    else:
        if _all_tokens(headers):
            return "".join([f"{name}: {value}\r\n" for name, value in headers])
    return "".join([f"{name}: {_CONTROL.sub(' ', value)}\r\n"
                    for name, value in headers if _TOKEN.match(name) is not None])


def request_head(method: str, target: str, headers: Headers | str, length: int | None = None) -> bytes:
    """The one request-head writer: request line, headers (a list, or a block header_block made), Content-Length
    when `length` is given, blank line. ValueError for a method that is not a token or an empty target or one
    with a space or control byte (a request id from the Runtime API goes into one)."""
    if method not in _METHODS and _TOKEN.match(method) is None:
        raise ValueError(f"invalid method {method[:20]!r}")
    if not target or ((" " in target or not target.isprintable()) and _BAD_TARGET.search(target)):
        raise ValueError("invalid characters in the request target")  # isprintable(): no CTL, faster than a regex
    block = headers if headers.__class__ is str else header_block(headers)  # type: ignore[arg-type]
    head = (f"{method} {target} HTTP/1.1\r\n{block}\r\n" if length is None
            else f"{method} {target} HTTP/1.1\r\n{block}Content-Length: {length}\r\n\r\n")
    try:
        return head.encode("latin-1")
    except UnicodeEncodeError:
        return head.encode("utf-8", "replace")  # non-Latin-1 header values travel as UTF-8 bytes


# -- sockets --------------------------------------------------------------------------------------------------------


def open_socket(host: str, port: int, timeout: float | None) -> _socket.socket:
    """A numeric address (the app's loopback, the Runtime API's IP) is connected to directly: getaddrinfo(),
    which socket.create_connection calls, encodes the host with the idna codec, and its first use imports
    encodings.idna, stringprep and unicodedata (3-9 ms of a cold start). A name still goes through it (and only
    then is the socket module imported)."""
    try:
        family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
        _socket.inet_pton(family, host)
    except OSError:
        import socket

        return socket.create_connection((host, port), timeout=timeout)
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock
