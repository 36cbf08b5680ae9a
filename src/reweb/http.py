"""The two values every stage passes along: one HTTP request and one HTTP response.

Headers are a list of (name, value) pairs so that order and repeats (Set-Cookie!) survive.
Paths and queries are kept raw: exactly the bytes that go on the wire, percent-encoding included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

Headers = list[tuple[str, str]]


@dataclass(slots=True)
class HttpRequest:
    method: str
    path: str  # raw, percent-encoded, starts with "/"
    query: str = ""  # raw, without the leading "?"
    headers: Headers = field(default_factory=list)
    body: bytes = b""

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def header(self, name: str) -> str | None:
        """The last value of a header (names compare case-insensitively)."""
        name = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    reason: str = ""
    # For streamed responses: chunks still to come after `body`.
    stream: Iterator[bytes] | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found

    def chunks(self) -> Iterable[bytes]:
        if self.body:
            yield self.body
        if self.stream is not None:
            yield from self.stream
