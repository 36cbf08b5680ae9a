"""The connection to the app: keep-alive, TCP_NODELAY + TCP_QUICKACK, no redirect following, deadlines.

Every failure becomes an UpstreamError with a kind the adapter maps to a status: refused/reset/closed -> 502,
timeout -> 504, garbage -> 502, too large -> 502 with the size. No exception of any other type leaves it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from .http import HttpRequest, HttpResponse
from .http1 import (
    BodyTooLarge,
    Connection,
    PeerClosed,
    ProtocolError,
    ResponseHead,
    Truncated,
    UpgradeRefused,
    request_head,
)
from .log import Log

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Protocol

    class AppView(Protocol):
        """The app as one connection to it sees it (a Worker): given to an Upstream when it is made."""

        def app_pid(self) -> int:
            """The app process of the moment (0: none known), asked at each connect (not per request)."""

        def app_lives(self) -> bool:
            """Whether the app process this exchange talks to lives on: asked only before a request is sent
            again (never on the hot path)."""

_BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})


class Unwatched:
    """The app view of a connection that no worker watches (the SnapStart hooks' one-off calls): no app process
    is known (the peer stays 0), and a request is sent again whenever the other rules allow it."""

    __slots__ = ()

    def app_pid(self) -> int:
        return 0

    def app_lives(self) -> bool:
        return True


UNWATCHED = Unwatched()


class UpstreamError(Exception):
    def __init__(self, kind: str, detail: str, size: int = 0, exact: bool = False) -> None:
        super().__init__(detail)
        self.kind = kind  # "refused", "closed", "timeout", "garbage", "too_large", "bad_request"
        self.detail = detail
        self.size = size
        self.exact = exact  # too_large: size is the whole body's (Content-Length), not what was seen so far


def serialize_head(request: HttpRequest) -> bytes:
    """Request line and headers, by http1's one writer: header names that are not tokens and CR/LF in values
    are dropped or blanked, so an event can never smuggle a second request to the app."""
    body = request.body
    try:
        return request_head(request.method, request.target, request.headers,
                            len(body) if body or request.method not in _BODYLESS_METHODS else None)
    except ValueError as exc:
        raise UpstreamError("bad_request", str(exc)) from None


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class Upstream:
    """One keep-alive connection to the app. The rules of a production reverse proxy:
    - one deadline per exchange, covering connect, send, interim answers, head and body;
    - a connection is reused only when the last answer ended exactly on its framing and nothing more is
      buffered or readable (checked without waiting just before the next request goes out, so bytes that
      arrive late are caught too);
    - a request is sent again only when it cannot have been processed: the connection was seen closed before
      sending, or the method is idempotent, not one byte of answer came back and the app lives on (`view.app_lives`:
      an app that is exiting closed the connection because this request killed it, and a second copy would
      kill its restarted successor too);
    - any failure closes the connection.
    """

    def __init__(self, port: int, host: str = "127.0.0.1", log: Log | None = None, idle_timeout: float = 0.0,
                 view: AppView = UNWATCHED, stream_statuses: frozenset[int] = frozenset()) -> None:
        self.conn = Connection(host, port, quickack=True, timed=True)
        # Answers with these statuses always come back with their body as a stream, never read whole nor checked
        # against the limit: the caller reads as much of it as it needs, then closes the stream (which drops the
        # connection if the body was not read to its end). REWEB_ERROR_STATUS_CODES: an invocation error keeps
        # the first 64 KB of the body, however large the body is.
        self.stream_statuses = stream_statuses
        self.view = view  # which app process listens, and whether it lives on (AppView): fixed for life
        # The app process that listened when this connection was opened (0: unknown, or no connection): after a
        # restart the port is another process's, and a failure must be laid at the door of the one it talked to.
        self.peer_pid = 0
        self.log = log
        self.idle_timeout = idle_timeout  # 0: reuse however long the connection was idle
        self.idle_since = 0.0
        self.last: tuple[str, str, ResponseHead] = ("", "", ResponseHead(0, "", [], None, False, False))

    def close(self) -> None:
        self.conn.close()

    def hurry(self, until: float) -> bool:
        """The exchange under way (the rest of a body read from its stream) ends by `until` if that comes before
        its own deadline; whether it does (Worker.body_excerpt)."""
        conn = self.conn
        if conn.deadline is not None and conn.deadline <= until:
            return False
        conn.set_deadline(until)
        return True

    def exchange(self, request: HttpRequest, deadline: float | None, limit: int | None,
                 stream: bool = False) -> HttpResponse:
        """Send one request; return the response with its whole body (or a chunk iterator if `stream`, or if
        its status is one of `stream_statuses`). `deadline` is monotonic seconds; `limit` caps a buffered body
        before it is read."""
        head_bytes = serialize_head(request)
        conn = self.conn
        conn.set_deadline(deadline)
        if self.idle_timeout and conn.connected and time.monotonic() - self.idle_since > self.idle_timeout:
            conn.close()  # idle too long (AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS): a fresh connection, not a stale one
        head = self._send_and_read_head(request, head_bytes)
        response = HttpResponse(head.status, head.headers, b"", head.reason)
        statuses = self.stream_statuses
        if stream or (statuses and head.status in statuses):  # most lists are empty: the lookup is then skipped
            response.stream = self._stream(head, request)
            return response
        try:
            response.body = conn.read_body(head, limit)
        except BodyTooLarge as exc:
            conn.close()
            raise UpstreamError("too_large", "response too large", exc.size, exc.exact) from None
        except Exception as exc:
            conn.close()
            raise _failure(exc, "while sending its body") from None
        self._finish(head, request)
        return response

    def _send_and_read_head(self, request: HttpRequest, head_bytes: bytes) -> ResponseHead:
        conn = self.conn
        for attempt in (0, 1):
            reused = False
            try:
                if conn.connected:
                    leftover = conn.leftover()
                    if leftover:  # the app closed the idle connection, or sent bytes nobody asked for
                        if leftover > 0:
                            self._warn_leftover(leftover)
                        conn.close()
                    else:
                        reused = True
                if not conn.connected:
                    self._connect()
                conn.send(head_bytes, request.body)
                return conn.read_head(head_request=request.method == "HEAD")
            except (PeerClosed, ConnectionResetError, BrokenPipeError) as exc:
                answered = conn.received  # before close(), which forgets it
                conn.close()
                if reused and attempt == 0 and not answered and request.method in _IDEMPOTENT and self.view.app_lives():
                    continue  # a keep-alive race: the app closed as we sent; nothing was processed
                raise _failure(exc, "before answering" if not answered else "inside its answer's head") from None
            except ConnectionRefusedError:
                conn.close()
                raise UpstreamError("refused", "the app refused the connection (is it still running?)") from None
            except Exception as exc:
                answered = conn.received
                conn.close()
                raise _failure(exc, "before answering" if not answered else "inside its answer's head") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _connect(self) -> None:
        """Connect, and note which app process listened: the same before and after the connect, or, when a
        restart fell in between (the peer could be either), once more."""
        conn = self.conn
        view = self.view
        self.peer_pid = 0
        for _ in (0, 1):
            pid = view.app_pid()
            conn.connect()
            if view.app_pid() == pid:
                self.peer_pid = pid
                return
            conn.close()
        conn.connect()  # restarted twice meanwhile: the peer stays unknown (0)

    def _finish(self, head: ResponseHead, request: HttpRequest) -> None:
        """After a complete answer. Whether more bytes follow it is checked just before the next request goes
        out (leftover()): late bytes are caught too, and the hot path pays one check, not two."""
        conn = self.conn
        conn.used = True
        if not head.keep_alive:
            conn.close()
            return
        self.last = (request.method, request.path, head)
        if self.idle_timeout:
            self.idle_since = time.monotonic()

    def _warn_leftover(self, count: int) -> None:
        if self.log is None:
            return
        method, path, head = self.last
        framing = ("chunked" if head.chunked else f"Content-Length {head.length}" if head.length is not None
                   else "no body")
        self.log.warn("the app sent bytes beyond the end of an answer; closing that connection so they reach no "
                      "other request", bytes=f"{count}+", after=f"{method} {path[:100]}", status=head.status,
                      framing=framing)

    def _stream(self, head: ResponseHead, request: HttpRequest) -> Iterator[bytes]:
        conn = self.conn
        try:
            yield from conn.iter_body(head)
        except GeneratorExit:
            conn.close()  # abandoned mid-body: the connection is in an unknown state
            raise
        except Exception as exc:
            conn.close()
            raise _failure(exc, "while streaming its body") from None
        self._finish(head, request)  # the same end as a buffered answer: reuse rules, idle clock


def _failure(exc: BaseException, when: str) -> UpstreamError:
    """Any failure of an exchange, as the kind the adapter maps to a status (and to a restart check)."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, TimeoutError):
        return UpstreamError("timeout", "the app did not answer before the invocation deadline"
                             if when == "before answering" else
                             f"the app did not finish its answer before the invocation deadline ({when})")
    if isinstance(exc, Truncated):
        return UpstreamError("closed", f"the app closed the connection {when}: {exc}")
    if isinstance(exc, UpgradeRefused):
        return UpstreamError("garbage", f"the app answered {exc}")
    if isinstance(exc, ProtocolError):
        return UpstreamError("garbage", f"the app's answer is not valid HTTP/1.1 ({when}): {exc}")
    if isinstance(exc, PeerClosed | ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return UpstreamError("closed", f"the app closed the connection {when}")
    if isinstance(exc, OSError):
        return UpstreamError("closed", f"the connection to the app failed {when}: {exc.strerror or exc}")
    if isinstance(exc, MemoryError):
        return UpstreamError("garbage", f"the app's answer could not be held in memory ({when})")
    return UpstreamError("garbage", f"the app's answer could not be read ({when}): {type(exc).__name__}: {exc}")
