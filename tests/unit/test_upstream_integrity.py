"""The app connection holds against any byte stream: a property over generated answers (valid, truncated,
over-long, mis-framed, interim, garbage, huge chunks), each sent by a raw loopback server to reweb's Upstream.

For every stream: the result is the app's parsed answer or an UpstreamError (never another exception), within
the deadline, with memory bounded by the limit; and the NEXT request on the same Upstream always gets its own
answer, never bytes left over from the one before.
"""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reweb.http import HttpRequest
from reweb.upstream import Upstream, UpstreamError

LIMIT = 64 * 1024
DEADLINE = 0.15
STOLEN = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSTOLEN"


class ScriptedApp:
    """Answers the first request of each round with the scripted bytes (then closes, or keeps the connection
    and answers later requests properly); every other request gets `own <target>`."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.script = b""
        self.close_after = False
        self.armed = False
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def arm(self, script: bytes, close_after: bool) -> None:
        with self.lock:
            self.script, self.close_after, self.armed = script, close_after, True

    def accept(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                target = head.split(b" ")[1]
                with self.lock:
                    scripted, self.armed = self.armed, False
                if scripted:
                    conn.sendall(self.script)
                    if self.close_after:
                        return
                    continue
                body = b"own " + target
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:
            return
        finally:
            conn.close()


@pytest.fixture(scope="module")
def app() -> Iterator[ScriptedApp]:
    yield ScriptedApp()


token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda name: name.lower() not in ("content-length", "transfer-encoding", "connection"))
value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(str.strip)


@st.composite
def answers(draw: st.DrawFn) -> tuple[bytes, bool, bytes | None, int | None]:
    """(bytes the app sends, close after, the body if the answer is valid as sent, its status if so)."""
    status = draw(st.sampled_from([200, 201, 204, 301, 304, 404, 500]))
    headers = draw(st.lists(st.tuples(token, value), max_size=4))
    body = b"" if status in (204, 304) else draw(st.binary(max_size=3000))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    head = b"HTTP/1.1 %d X\r\n" % status + b"".join(b"%s: %s\r\n" % (n.encode(), v.encode()) for n, v in headers)
    if framing == "length":
        wire = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    elif framing == "chunked":
        cut = draw(st.integers(0, len(body)))
        pieces = [piece for piece in (body[:cut], body[cut:]) if piece]
        wire = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
            b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    else:
        wire = head + b"Connection: close\r\n\r\n" + body
    close_after = framing == "close" or draw(st.booleans())
    mutation = draw(st.sampled_from(["none", "truncate", "extra", "stolen", "length-off", "garbage", "interim",
                                     "huge-chunk", "bad-chunk", "control", "bad-status", "twice"]))
    valid = mutation in ("none", "interim")
    if mutation == "truncate":
        wire = wire[:draw(st.integers(0, max(len(wire) - 1, 0)))]
    elif mutation == "extra":
        wire += draw(st.binary(min_size=1, max_size=200))
    elif mutation == "stolen":
        wire += STOLEN
    elif mutation == "length-off":
        off = draw(st.integers(-5, 5).filter(bool))
        wire = head + b"Content-Length: %d\r\n\r\n" % max(len(body) + off, 0) + body
    elif mutation == "garbage":
        wire = draw(st.binary(min_size=1, max_size=300))
    elif mutation == "interim":
        wire = draw(st.sampled_from([b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early\r\nLink: <x>\r\n\r\n"])) \
            + wire
    elif mutation == "huge-chunk":
        size = draw(st.sampled_from(["40000000", "FFFFFFFFFFFF", "FFFFFFFFFFFFFFFF", "-1", "0x10", "+10", "1_0"]))
        wire = head + b"Transfer-Encoding: chunked\r\n\r\n" + size.encode() + b"\r\nabc"
    elif mutation == "bad-chunk":
        wire = head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nabcdefgh\r\n0\r\n\r\n"
    elif mutation == "control":
        wire = head + b"X-Bad: a" + draw(st.sampled_from([b"\r", b"\x00"])) + b"b\r\nContent-Length: 0\r\n\r\n"
    elif mutation == "bad-status":
        code = draw(st.sampled_from(["000", "099", "600", "\u00b2\u00b2\u00b2", "20", "2000"]))
        wire = b"HTTP/1.1 " + code.encode() + b" X\r\nContent-Length: 0\r\n\r\n"
    elif mutation == "twice":
        wire = head + b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n" % (len(body), len(body)) + body
    return wire, close_after, body if valid else None, status if valid else None


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers(), serial=st.integers(0, 10**9))
def test_any_answer_then_the_next_request_gets_its_own(app: ScriptedApp, answer: tuple[bytes, bool, bytes | None,
                                                                                       int | None],
                                                      serial: int) -> None:
    wire, close_after, expected_body, expected_status = answer
    upstream = Upstream(app.port)
    try:
        # A warm keep-alive connection first, as in a real sandbox.
        warm = upstream.exchange(HttpRequest("GET", "/warm"), time.monotonic() + 2, LIMIT)
        assert warm.body == b"own /warm"
        app.arm(wire, close_after)
        tracemalloc.start()
        started = time.monotonic()
        try:
            response = upstream.exchange(HttpRequest("GET", "/scripted"), started + DEADLINE, LIMIT)
        except UpstreamError as exc:
            assert exc.kind in ("garbage", "closed", "timeout", "too_large"), exc.kind
            assert expected_body is None or exc.kind == "too_large", f"a valid answer was refused: {exc.detail}"
        else:
            assert 100 <= response.status <= 599
            if expected_body is not None:
                assert (response.status, response.body) == (expected_status, expected_body)
        finally:
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert elapsed < DEADLINE + 0.25, f"took {elapsed:.2f} s for a {DEADLINE} s deadline"
        assert peak < 2 * LIMIT + 256 * 1024, f"peak {peak} bytes for a {LIMIT}-byte limit"
        # The central property: the next request gets its own answer.
        target = f"/next-{serial}"
        following = upstream.exchange(HttpRequest("GET", target), time.monotonic() + 2, LIMIT)
        assert following.status == 200 and following.body == b"own " + target.encode()
    finally:
        upstream.close()


def test_a_post_is_never_sent_twice(app: ScriptedApp) -> None:
    """The app reads a POST on a reused connection and closes without answering: 502, not a second POST."""
    received: list[bytes] = []
    sock = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = sock.accept()
        conn.settimeout(5)
        data = b""
        while data.count(b"\r\n\r\n") < 1:
            data += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")  # the warm-up
        data = b""
        while not data.endswith(b"payload"):
            data += conn.recv(65536)
        received.append(data)
        conn.close()  # read it, then hang up without a word
        sock.settimeout(1)
        try:
            again, _ = sock.accept()
            received.append(again.recv(65536))
            again.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    upstream = Upstream(sock.getsockname()[1])
    upstream.exchange(HttpRequest("GET", "/warm"), time.monotonic() + 2, LIMIT)
    with pytest.raises(UpstreamError) as failure:
        upstream.exchange(HttpRequest("POST", "/order", "", [], b"payload"), time.monotonic() + 2, LIMIT)
    thread.join(5)
    assert failure.value.kind == "closed"
    assert len(received) == 1, f"the POST reached the app {len(received)} times"
    sock.close()


def test_a_connection_closed_while_idle_is_replaced_before_sending(app: ScriptedApp) -> None:
    """An idle keep-alive connection the app has closed is seen closed (non-blocking peek) and replaced
    before the request goes out, so even a POST goes through, once."""
    upstream = Upstream(app.port)
    app.arm(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", close_after=True)
    assert upstream.exchange(HttpRequest("GET", "/a"), time.monotonic() + 2, LIMIT).body == b"hi"
    time.sleep(0.05)  # the FIN arrives
    response = upstream.exchange(HttpRequest("POST", "/b", "", [], b"x"), time.monotonic() + 2, LIMIT)
    assert response.body == b"own /b"
    upstream.close()


def test_a_connection_idle_past_the_pool_timeout_is_replaced(app: ScriptedApp) -> None:
    upstream = Upstream(app.port, idle_timeout=0.1)
    try:
        assert upstream.exchange(HttpRequest("GET", "/a"), time.monotonic() + 2, LIMIT).body == b"own /a"
        first = upstream.conn.sock
        assert upstream.exchange(HttpRequest("GET", "/b"), time.monotonic() + 2, LIMIT).body == b"own /b"
        assert upstream.conn.sock is first  # within the timeout: reused
        time.sleep(0.15)
        assert upstream.exchange(HttpRequest("GET", "/c"), time.monotonic() + 2, LIMIT).body == b"own /c"
        assert upstream.conn.sock is not first  # idle too long: a new connection
    finally:
        upstream.close()
