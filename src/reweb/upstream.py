"""The connection to the app: keep-alive, TCP_NODELAY + TCP_QUICKACK, no redirect following, deadlines.

Every failure becomes an UpstreamError with a kind the adapter maps to a status: refused/reset/closed -> 502,
timeout -> 504, garbage -> 502, too large -> 502 with the size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .http import HttpRequest, HttpResponse
from .http1 import BodyTooLarge, Connection, PeerClosed, ProtocolError

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_KNOWN_TOKENS: set[str] = set()  # header names already checked: the same few dozen recur on every request
_CONTROL = re.compile(r"[\r\n\x00]")
_BAD_TARGET = re.compile(r"[\x00-\x20]")
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})


class UpstreamError(Exception):
    def __init__(self, kind: str, detail: str, size: int = 0) -> None:
        super().__init__(detail)
        self.kind = kind  # "refused", "reset", "timeout", "garbage", "too_large"
        self.detail = detail
        self.size = size


def _is_token(text: str) -> bool:
    return _TOKEN.match(text) is not None


def _all_tokens(headers: list[tuple[str, str]]) -> bool:
    known = _KNOWN_TOKENS
    for name, _ in headers:
        if name not in known:
            if _TOKEN.match(name) is None:
                return False
            if len(known) < 4096:
                known.add(name)
    return True


def serialize_head(request: HttpRequest) -> bytes:
    """Request line and headers. Header names that are not tokens and CR/LF in values are dropped or
    blanked: an event must never be able to smuggle a second request to the app."""
    if not _is_token(request.method):
        raise UpstreamError("bad_request", f"invalid method {request.method[:20]!r}")
    target = request.target
    if _BAD_TARGET.search(target):
        raise UpstreamError("bad_request", "invalid characters in the request target")
    headers = request.headers
    block = "".join([f"{name}: {value}\r\n" for name, value in headers])
    # Clean when the only CR and LF are the line ends, there is no NUL, and every name is a token: a few
    # memchr-speed counts (a regex over the whole block cost 10 us a request); the repair is the rare path.
    lines = len(headers)
    if (block.count("\n") != lines or block.count("\r") != lines or "\x00" in block
            or not _all_tokens(headers)):
        block = "".join([f"{name}: {_CONTROL.sub(' ', value)}\r\n"
                         for name, value in request.headers if _is_token(name)])
    length = ""
    if request.body or request.method not in _BODYLESS_METHODS:
        length = f"Content-Length: {len(request.body)}\r\n"
    head = f"{request.method} {target} HTTP/1.1\r\n{block}{length}\r\n"
    try:
        return head.encode("latin-1")
    except UnicodeEncodeError:
        return head.encode("utf-8", "replace")  # non-Latin-1 header values travel as UTF-8 bytes


class Upstream:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.conn = Connection(host, port, quickack=True)

    def close(self) -> None:
        self.conn.close()

    def exchange(self, request: HttpRequest, timeout: float | None, limit: int | None,
                 stream: bool = False) -> HttpResponse:
        """Send one request; return the response with its whole body (or a chunk iterator if `stream`)."""
        head_bytes = serialize_head(request)
        conn = self.conn
        for attempt in (0, 1):
            try:
                if not conn.connected:
                    conn.connect(timeout)
                else:
                    conn.settimeout(timeout)
                conn.send(head_bytes, request.body)
                head = conn.read_head(head_request=request.method == "HEAD")
                break
            except (PeerClosed, BrokenPipeError, ConnectionResetError) as exc:
                reused = conn.used
                conn.close()
                if reused and attempt == 0:
                    continue  # the app closed an idle keep-alive connection before reading: resend once
                kind = "reset" if isinstance(exc, ConnectionResetError) else "closed"
                raise UpstreamError(kind, f"the app closed the connection without answering ({exc})") from None
            except ConnectionRefusedError:
                conn.close()
                raise UpstreamError("refused", "the app refused the connection (is it still running?)") from None
            except TimeoutError:
                conn.close()
                raise UpstreamError("timeout", "the app did not answer before the invocation deadline") from None
            except ProtocolError as exc:
                conn.close()
                raise UpstreamError("garbage", f"the app's answer is not valid HTTP: {exc}") from None
            except OSError as exc:
                conn.close()
                raise UpstreamError("reset", f"connection to the app failed: {exc}") from None
        else:  # pragma: no cover - the loop either breaks or raises
            raise AssertionError("unreachable")

        response = HttpResponse(head.status, head.headers, b"", head.reason)
        if stream:
            response.stream = self._stream(head)
            return response
        try:
            response.body = conn.read_body(head, limit)
        except BodyTooLarge as exc:
            conn.close()
            raise UpstreamError("too_large", "response too large", exc.size) from None
        except TimeoutError:
            conn.close()
            raise UpstreamError("timeout", "the app did not finish its answer before the invocation deadline") from None
        except (ProtocolError, OSError) as exc:
            conn.close()
            raise UpstreamError("garbage", f"the app's answer broke off: {exc}") from None
        conn.used = True
        if not head.keep_alive:
            conn.close()
        return response

    def _stream(self, head: object) -> Iterator[bytes]:
        from .http1 import ResponseHead

        assert isinstance(head, ResponseHead)
        conn = self.conn
        try:
            yield from conn.iter_body(head)
        except TimeoutError:
            conn.close()
            raise UpstreamError("timeout", "the app did not finish its answer before the invocation deadline") from None
        except (ProtocolError, OSError) as exc:
            conn.close()
            raise UpstreamError("garbage", f"the app's answer broke off: {exc}") from None
        except GeneratorExit:
            conn.close()  # abandoned mid-body: the connection is in an unknown state
            raise
        conn.used = True
        if not head.keep_alive:
            conn.close()

    def set_deadline(self, timeout: float | None) -> None:
        if self.conn.connected:
            self.conn.settimeout(timeout)
