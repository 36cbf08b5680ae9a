"""reweb.http1's pure framing functions, as tables (the way h11 tests its readers): the one chunk-size parser, the
one header-block parser (responses for the client side, requests and trailers for the emulator's server side),
the one header lookup rule and the one request-head writer. No sockets: these are the fast twins of the refusals
that tests/integration/test_hostile.py drives through the RIE."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reweb.http import HttpResponse, field_map, header_value
from reweb.http1 import (
    MAX_HEADERS,
    MAX_LINE,
    ProtocolError,
    chunk_size,
    parse_request_head,
    parse_response_head,
    parse_trailers,
    request_head,
)

# -- chunk sizes (RFC 9112 7.1: chunk-size = 1*HEXDIG, then chunk-ext, then CRLF) --------------------------------


@pytest.mark.parametrize(("line", "size"), [
    (b"0\r\n", 0),
    (b"1\r\n", 1),
    (b"a\r\n", 10),
    (b"A\r\n", 10),
    (b"10\r\n", 16),
    (b"00000010\r\n", 16),
    (b"ffffffffffffffff\r\n", 2**64 - 1),  # 16 digits: the bound, refused later by the body limit
    (b"10;name=value\r\n", 16),  # chunk-ext, ignored
    (b"10 ; name=\"quoted; value\"\r\n", 16),  # BWS before the ext
    (b"10;a;b=c\r\n", 16),
    (b"10 \r\n", 16),  # trailing OWS before CRLF, as h11 allows
])
def test_good_chunk_sizes(line: bytes, size: int) -> None:
    assert chunk_size(line) == size


@pytest.mark.parametrize("line", [
    b"0x10\r\n",  # int(x, 16) reads all of these as 16
    b"+10\r\n",
    b"-1\r\n",
    b"1_0\r\n",
    b" 10\r\n",  # no whitespace before the size
    b"\t10\r\n",
    b"1 0\r\n",
    b"\r\n",  # no digits
    b";ext\r\n",
    b"g\r\n",
    b"\xd9\xa5\r\n",  # a non-ASCII digit
    b"1" * 17 + b"\r\n",  # more than 16 digits
    b"10\n",  # bare LF: the chunk grammar has CRLF only
    b"10\r\r\n",
    b"10;a\x00b\r\n",  # a NUL or a bare CR inside the ext
    b"10;a\rb\r\n",
])
def test_bad_chunk_sizes_are_refused(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        chunk_size(line)


def test_an_unfinished_chunk_line_says_which_way() -> None:
    with pytest.raises(ProtocolError, match="closed"):
        chunk_size(b"10")  # the peer closed before the line ended
    with pytest.raises(ProtocolError, match="too long"):
        chunk_size(b"1" * MAX_LINE)  # readline(MAX_LINE) gave up before the LF


# -- response heads (the client side) -------------------------------------------------------------------------


def _head(*lines: str) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


def test_response_head_framing() -> None:
    head = parse_response_head(_head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5"))
    assert (head.status, head.reason, head.length, head.chunked, head.keep_alive) == (200, "OK", 5, False, True)
    assert head.headers == [("Content-Type", "text/plain"), ("Content-Length", "5")]
    chunked = parse_response_head(_head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"))
    assert (chunked.length, chunked.chunked, chunked.keep_alive) == (None, True, True)
    unframed = parse_response_head(_head("HTTP/1.1 200 OK"))
    assert (unframed.length, unframed.chunked, unframed.keep_alive) == (None, False, False)  # ends with the conn
    old = parse_response_head(_head("HTTP/1.0 200 OK", "Content-Length: 0"))
    assert not old.keep_alive
    assert parse_response_head(_head("HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 0")).keep_alive
    assert not parse_response_head(_head("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 0")).keep_alive
    assert parse_response_head(_head("HTTP/1.1 200 OK", "Content-Length: 9"), head_request=True).length == 0
    assert parse_response_head(_head("HTTP/1.1 304 Not Modified", "Content-Length: 9")).length == 0


def test_response_head_bare_lf_and_obs_fold_are_read() -> None:
    head = parse_response_head(b"HTTP/1.1 200 OK\nX-Long: a\r\n  b\r\n\tc\nContent-Length: 0\n")
    assert head.headers == [("X-Long", "a b c"), ("Content-Length", "0")]


@pytest.mark.parametrize("raw", [
    _head("HTTP/1.1 200 OK", "Content-Length: 2", "Content-Length: 2"),  # duplicate, even equal
    _head("HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 6"),
    _head("HTTP/1.1 200 OK", "Content-Length: 2", "Transfer-Encoding: chunked"),  # CL + TE: smuggling pattern
    _head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, gzip"),  # chunked not last
    _head("HTTP/1.1 200 OK", "Content-Length: +2"),
    _head("HTTP/1.1 200 OK", "Content-Length: 0x2"),
    _head("HTTP/1.1 200 OK", "Content-Length: ²"),
    _head("HTTP/1.1 200 OK", "Content-Length: 1234567890123456789"),
    _head("HTTP/1.1 200 OK", "X-Bad: a\rb"),  # bare CR
    _head("HTTP/1.1 200 OK", "X-Bad: a\x00b"),  # NUL
    _head("HTTP/1.1 200 OK", "X Bad: v"),  # not a token
    _head("HTTP/1.1 200 OK", "X-Bad : v"),  # whitespace before the colon
    _head("HTTP/1.1 200 OK", ": v"),
    _head("HTTP/1.1 200 OK", "no colon"),
    _head("HTTP/1.1 200 OK", " folded first"),  # obs-fold with nothing to fold into
    _head("HTTP/1.1 200 OK", "Content-Length: 5", " 6"),  # obs-fold into a framing field
    _head("HTTP/1.1 099 Odd"),
    _head("HTTP/1.1 600 Beyond"),
    _head("HTTP/1.1 ²²² OK"),
    _head("HTTP/2 200 OK"),
    _head("HTTP/1.1 200 OK", *[f"X-{n}: v" for n in range(MAX_HEADERS + 1)]),
])
def test_bad_response_heads_are_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_response_head(raw)


# -- request heads and trailers (the emulator's server side) ----------------------------------------------------


def test_request_head_framing() -> None:
    req = parse_request_head(_head("POST /2018-06-01/runtime/invocation/1/response HTTP/1.1", "Host: h:1",
                                   "Content-Length: 3"))
    assert (req.method, req.target, req.version) == ("POST", "/2018-06-01/runtime/invocation/1/response", "HTTP/1.1")
    assert (req.length, req.chunked, req.keep_alive) == (3, False, True)
    assert req.headers == [("Host", "h:1"), ("Content-Length", "3")]
    chunked = parse_request_head(_head("POST / HTTP/1.1", "Transfer-Encoding: chunked", "Connection: close"))
    assert (chunked.length, chunked.chunked, chunked.keep_alive) == (None, True, False)
    bare = parse_request_head(b"GET / HTTP/1.0\nHost: h\n")  # bare LF may end a field line (RFC 9112 2.2)
    assert (bare.length, bare.chunked, bare.keep_alive) == (0, False, False)  # no framing in a request: no body


@pytest.mark.parametrize("raw", [
    _head("POST / HTTP/1.1", "Content-Length: 2", "Content-Length: 2"),
    _head("POST / HTTP/1.1", "Content-Length: 2", "Transfer-Encoding: chunked"),  # CL + TE: 400, not "TE wins"
    _head("POST / HTTP/1.1", "Transfer-Encoding: chunked, gzip"),  # RFC 9112 6.3: MUST be 400
    _head("POST / HTTP/1.1", "Transfer-Encoding: gzip"),
    _head("POST / HTTP/1.1", "Content-Length: +2"),  # int() would take these three
    _head("POST / HTTP/1.1", "Content-Length:  2_0"),
    _head("POST / HTTP/1.1", "Content-Length: -1"),
    _head("POST / HTTP/1.1", "X-Long: a", " folded"),  # a server rejects obs-fold (RFC 9112 5.2)
    _head("POST / HTTP/1.1", "X-Bad: a\x00b"),
    _head("POST / HTTP/1.1", "X-Bad: a\rb"),
    _head("POST / HTTP/1.1", "X Bad: v"),
    _head("POST / HTTP/1.1", "X-Bad : v"),
    _head("POST  / HTTP/1.1"),
    _head("POST / HTTP/1.1 extra"),
    _head("POST /a\x01b HTTP/1.1"),
    _head("P(ST / HTTP/1.1"),
    _head("POST / HTTP/2.0"),
    _head("POST / HTTP/1.1", *[f"X-{n}: v" for n in range(MAX_HEADERS + 1)]),
])
def test_bad_request_heads_are_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_request_head(raw)


def test_trailers() -> None:
    raw = b"Lambda-Runtime-Function-Error-Type: Boom\r\nLambda-Runtime-Function-Error-Body: e30=\n"
    assert parse_trailers(raw) == [("Lambda-Runtime-Function-Error-Type", "Boom"),
                                   ("Lambda-Runtime-Function-Error-Body", "e30=")]
    assert parse_trailers(b"") == []
    for bad in (b"X-Bad: a\x00b\r\n", b"no colon\r\n", b"X Bad: v\r\n"):
        with pytest.raises(ProtocolError):
            parse_trailers(bad)


# -- the one lookup rule --------------------------------------------------------------------------------------


def test_lookup_is_case_insensitive_and_the_last_value_wins_everywhere() -> None:
    headers = [("X-Id", "first"), ("Content-Type", "a"), ("x-id", "last")]
    assert header_value(headers, "X-ID") == "last"
    assert header_value(headers, "missing") is None
    assert field_map(headers) == {"x-id": "last", "content-type": "a"}
    assert HttpResponse(200, headers).header("x-id") == "last"
    head = parse_response_head(_head("HTTP/1.1 200 OK", "X-Id: first", "Content-Length: 0", "x-id: last"))
    assert head.get("x-id") == "last"  # was the first value: the one place that disagreed


# -- the one request-head writer ------------------------------------------------------------------------------


def test_request_head_writer() -> None:
    assert request_head("GET", "/next", [("Host", "h:1")]) == b"GET /next HTTP/1.1\r\nHost: h:1\r\n\r\n"
    assert request_head("POST", "/r", [("Host", "h"), ("Content-Type", "application/json")], 2) == (
        b"POST /r HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n")
    # What the writer makes, the reader reads back as it was given.
    raw = request_head("POST", "/r?a=1", [("Host", "h"), ("X-A", "1")], 0)
    back = parse_request_head(raw[:-2])
    assert (back.method, back.target, back.headers, back.length) == (
        "POST", "/r?a=1", [("Host", "h"), ("X-A", "1"), ("Content-Length", "0")], 0)


@pytest.mark.parametrize(("headers", "want"), [
    ([("X-A", "1\r\nX-Injected: yes")], b"X-A: 1  X-Injected: yes\r\n"),
    ([("X-A", "nul\x00here")], b"X-A: nul here\r\n"),
    ([("X Bad", "v")], b""),
    ([("X-Bad\r\nX-Injected", "v")], b""),
])
def test_request_head_writer_never_lets_a_value_add_a_line(headers: list[tuple[str, str]], want: bytes) -> None:
    assert request_head("GET", "/", [("Host", "h"), *headers]) == b"GET / HTTP/1.1\r\nHost: h\r\n" + want + b"\r\n"


@pytest.mark.parametrize(("method", "target"), [
    ("GET X", "/"), ("G\r\nET", "/"), ("", "/"), ("GET", "/a b"), ("GET", "/a\r\nb"), ("GET", ""),
    ("POST", "/2018-06-01/runtime/invocation/id HTTP/1.1\r\nX: y/response"),  # a request id must not split it
])
def test_request_head_writer_refuses_bad_method_or_target(method: str, target: str) -> None:
    with pytest.raises(ValueError):
        request_head(method, target, [("Host", "h")])


# -- the emulator's server side reads with these rules (asyncio streams fed by hand: no socket) ------------------


def _serve(data: bytes) -> tuple[str, bytes, list[tuple[str, str]]]:
    """What the emulator's Runtime API reads from `data`: (target, body, trailers)."""
    import asyncio

    from reweb.local import http11

    async def read() -> tuple[str, bytes, list[tuple[str, str]]]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        request = await http11.read_request(reader)
        assert request is not None
        body = await request.read_body(1 << 20)
        return request.target, body, request.trailers

    return asyncio.run(read())


def test_emulator_reads_bodies_and_trailers() -> None:
    assert _serve(b"POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc") == ("/r", b"abc", [])
    chunked = (b"\r\nPOST /r HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nLambda-Runtime-Function-Error-Type: Boom\r\n\r\n")
    assert _serve(chunked) == ("/r", b"abcde", [("Lambda-Runtime-Function-Error-Type", "Boom")])


@pytest.mark.parametrize("data", [
    b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",  # int(x, 16) took these
    b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n",
    b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0_3\r\nabc\r\n0\r\n\r\n",
    b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-0\r\n\r\n",
    b"POST /r HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"POST /r HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /r HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
    b"POST /r HTTP/1.1\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n",
    b"POST /r HTTP/1.1\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
    b"POST /r HTTP/1.1\r\nX Bad: 1\r\nContent-Length: 0\r\n\r\n",
])
def test_emulator_refuses_what_the_client_refuses(data: bytes) -> None:
    from reweb.local.http11 import BadRequest

    with pytest.raises(BadRequest):
        _serve(data)


# -- the client side reads with these rules (a Connection over an in-memory buffer: no socket) -------------------


def _client(data: bytes) -> tuple[int, bytes]:
    import io

    from reweb.http1 import Connection

    conn = Connection("127.0.0.1", 9)  # never connected: its reader is replaced by the buffer
    conn.reader = io.BufferedReader(io.BytesIO(data))
    head = conn.read_head()
    return head.status, conn.read_body(head, 1 << 20)


def test_client_reads_chunks_and_skips_trailers() -> None:
    data = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;x=\"a;b\"\r\nabc\r\n2 \r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n")
    assert _client(data) == (200, b"abcde")


@pytest.mark.parametrize(("data", "error"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", "not ended by CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", "longer than its size line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", "longer than its size line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * MAX_LINE, "too long"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", "closed inside a chunk"),
    (b"HTTP/1.1 200 OK\r\nX-Big: " + b"v" * MAX_LINE + b"\r\n\r\n", "longer than"),  # an oversized header line
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "ended after 3 of 5"),
])
def test_client_refuses_bad_framing(data: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        _client(data)


def test_an_oversized_line_never_reaches_the_emulator() -> None:
    import asyncio

    with pytest.raises(asyncio.LimitOverrunError):  # the stream's 64 KiB line limit
        _serve(b"POST /r HTTP/1.1\r\nX-Big: " + b"v" * MAX_LINE + b"\r\nContent-Length: 0\r\n\r\n")


def _parsed(raw: bytes) -> tuple[str, object]:
    try:
        head = parse_response_head(raw)
    except ProtocolError as exc:
        return type(exc).__name__, str(exc)
    return "head", (head.status, head.reason, head.headers, head.length, head.chunked, head.keep_alive)


_LINE_CHARS = st.sampled_from(["a", " ", "\t", ":", "\r", "\n", "\r\n", "\x00", "\x0b", "\x0c", "\x1c", "\x1d",
                               "\x1e", "\x85", "\u2028", "\u2029", "\xe9", "Content-Length: 1", "X-A: v"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(_LINE_CHARS, max_size=8).map("".join), max_size=5), st.sampled_from(["\r\n", "\n"]))
def test_response_head_fast_split_agrees_with_the_exact_one(lines: list[str], end: str) -> None:
    # A trailing blank line sends a head down the exact path (replace, rstrip, split), which drops it: the
    # same head with and without it must parse the same, whatever separators and stray CRs its lines hold.
    raw = ("HTTP/1.1 200 OK" + end + "".join(line + end for line in lines)).encode("utf-8")
    assert _parsed(raw) == _parsed(raw + b"\r\n")


@pytest.mark.parametrize("value", ["a\x0bb", "a\x0cb", "a\x1cb", "a\x85b", "a\u2028b", "a\u2029b"])
def test_response_head_keeps_other_line_separators_inside_values(value: str) -> None:
    head = parse_response_head(_head("HTTP/1.1 200 OK", f"X-A: {value}", "Content-Length: 0"))
    assert head.headers == [("X-A", value), ("Content-Length", "0")]
