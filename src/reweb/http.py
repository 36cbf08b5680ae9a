"""The two values every stage passes along: one HTTP request and one HTTP response.

Headers are a list of (name, value) pairs so that order and repeats (Set-Cookie!) survive.
Paths and queries are kept raw: exactly the bytes that go on the wire, percent-encoding included.
Plain slotted classes rather than dataclasses: the dataclasses module (and the inspect module it pulls in)
would cost milliseconds of every cold start.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

Headers = list[tuple[str, str]]


def header_value(headers: Headers, name: str) -> str | None:
    """The one lookup rule of reweb, for every message it reads or writes: names compare case-insensitively and
    the LAST value of a repeated field wins. Framing fields never get here twice (http1 refuses a repeated
    Content-Length, and Content-Length with Transfer-Encoding); for any other single-valued field a repeat makes
    the message invalid (RFC 9110 5.3) and one answer is as good as another, so reweb gives the one Lambda's
    front doors give (a REST API's and an ALB's single-valued `headers` map keeps the last value of a repeated
    header), which a {name: value} dict built from the list (field_map) agrees with. List fields (Set-Cookie...)
    are read as lists, not through this."""
    name = name.lower()
    found = None
    for key, value in headers:
        if key.lower() == name:
            found = value
    return found


def field_map(headers: Headers) -> dict[str, str]:
    """{lower-case name: value}, by the rule of header_value (the last value wins): one pass, for a caller that
    looks up many fields of one message."""
    return {name.lower(): value for name, value in headers}


class HttpRequest:
    __slots__ = ("body", "headers", "method", "path", "prefix", "query")

    def __init__(self, method: str, path: str, query: str = "", headers: Headers | None = None,
                 body: bytes = b"") -> None:
        self.method = method
        self.path = path  # raw, percent-encoded, starts with "/"
        self.query = query  # raw, without the leading "?"
        self.headers: Headers = [] if headers is None else headers
        self.body = body
        # The part of the public path the app does not see (an API stage, a removed base path): the app learns
        # it through X-Forwarded-Prefix, to build its links.
        self.prefix = ""

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def _key(self) -> tuple[object, ...]:
        return (self.method, self.path, self.query, self.headers, self.body)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HttpRequest) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # mutable value

    def __repr__(self) -> str:
        return (f"HttpRequest(method={self.method!r}, path={self.path!r}, query={self.query!r}, "
                f"headers={self.headers!r}, body={self.body[:80]!r}{'...' if len(self.body) > 80 else ''})")


class HttpResponse:
    __slots__ = ("body", "headers", "origin", "reason", "status", "stream")

    def __init__(self, status: int, headers: Headers | None = None, body: bytes = b"", reason: str = "",
                 stream: Iterator[bytes] | None = None) -> None:
        self.status = status
        self.headers: Headers = [] if headers is None else headers
        self.body = body
        self.reason = reason
        # For streamed responses: chunks still to come after `body`.
        self.stream = stream
        self.origin = "app"  # or "reweb" for an answer reweb made itself (errors name who failed)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def chunks(self) -> Iterable[bytes]:
        if self.body:
            yield self.body
        if self.stream is not None:
            yield from self.stream

    def _key(self) -> tuple[object, ...]:
        return (self.status, self.headers, self.body, self.reason, self.stream)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HttpResponse) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"HttpResponse(status={self.status!r}, headers={self.headers!r}, "
                f"body={self.body[:80]!r}{'...' if len(self.body) > 80 else ''}, reason={self.reason!r})")
