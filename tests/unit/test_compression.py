"""Compression keeps HTTP's meaning (rewrite.maybe_compress and its streaming twin): never a part of the original
bytes (206, Content-Range) nor an answer the app marked no-transform; the encoded variant gets a weak ETag, no
digest of the original bytes, no Accept-Ranges, and Vary: Accept-Encoding."""

from __future__ import annotations

import gzip
import zlib

import pytest

from reweb.http import Headers, HttpRequest, HttpResponse
from reweb.rewrite import maybe_compress, maybe_compress_stream

TEXT = b"<p>hello world</p>\n" * 100
GZIP = HttpRequest("GET", "/", "", [("Accept-Encoding", "gzip")])


def compress(headers: Headers, *, status: int = 200, stream: bool = False, force: bool = False,
             request: HttpRequest = GZIP) -> HttpResponse:
    if stream:
        response = HttpResponse(status, list(headers), TEXT[:500], stream=iter([TEXT[500:]]))
        maybe_compress_stream(response, request, force=force, negotiate=not force)
    else:
        response = HttpResponse(status, list(headers), TEXT)
        maybe_compress(response, request, force=force, negotiate=not force)
    return response


def values(response: HttpResponse, name: str) -> list[str]:
    return [v for n, v in response.headers if n.lower() == name]


def body(response: HttpResponse) -> bytes:
    return b"".join(response.chunks())


BOTH = pytest.mark.parametrize("stream", [False, True], ids=["buffered", "streamed"])
PART = [("Content-Type", "text/html"), ("Content-Range", "bytes 0-1899/5000"), ("Content-Length", "1900")]


@BOTH
@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize(("status", "headers"), [
    (206, PART),
    (206, [("Content-Type", "multipart/byteranges; boundary=x")]),  # several ranges: no Content-Range of its own
    (200, PART),  # whatever the status: Content-Range counts the original bytes
    (416, [("Content-Type", "text/html"), ("Content-Range", "bytes */5000")]),
    (200, [("Content-Type", "text/html"), ("Cache-Control", "no-transform")]),
    (200, [("Content-Type", "text/html"), ("cache-control", "public, max-age=60,No-Transform")]),
    (200, [("Content-Type", "text/html"), ("Cache-Control", "public"), ("Cache-Control", "NO-TRANSFORM")]),
    (200, [("Content-Type", "text/html"), ("Cache-Control", 'private="Set-Cookie", no-transform, max-age=5')]),
])
def test_a_part_or_a_no_transform_answer_is_left_alone(status: int, headers: Headers, stream: bool,
                                                        force: bool) -> None:
    response = compress(headers, status=status, stream=stream, force=force)
    assert (response.status, response.headers, body(response)) == (status, headers, TEXT)


@BOTH
@pytest.mark.parametrize("cache_control", ["no-transformer", "x-no-transform", "no-cache, no-store"])
def test_only_the_no_transform_token_stops_compression(cache_control: str, stream: bool) -> None:
    response = compress([("Content-Type", "text/html"), ("Cache-Control", cache_control)], stream=stream)
    assert values(response, "content-encoding") == ["gzip"] and values(response, "cache-control") == [cache_control]


@BOTH
@pytest.mark.parametrize(("etag", "want"), [
    ('"abc"', ['W/"abc"']), ('W/"abc"', ['W/"abc"']), ('"33a64df5-1f4"', ['W/"33a64df5-1f4"']),
    ("unquoted", []),  # not an entity-tag: dropped, as nginx does, rather than sent on as strong
])
def test_the_encoded_variant_has_a_weak_etag(etag: str, want: list[str], stream: bool) -> None:
    """Other bytes than the app's: a strong validator would be a lie (RFC 9110 8.8.3), so it is weakened as nginx
    does; an If-None-Match the client sends back still matches the app's own tag under weak comparison."""
    response = compress([("Content-Type", "text/html"), ("ETag", etag)], stream=stream)
    assert values(response, "content-encoding") == ["gzip"] and values(response, "etag") == want


@BOTH
def test_digests_of_the_original_bytes_and_accept_ranges_are_dropped(stream: bool) -> None:
    headers = [("Content-Type", "text/html"), ("Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="),
               ("Digest", "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="), ("X-Keep", "1"),
               ("Repr-Digest", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
               ("Content-Digest", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"),
               ("Accept-Ranges", "bytes"), ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")]
    response = compress(headers, stream=stream)
    names = [n.lower() for n, _ in response.headers]
    assert not {"content-md5", "digest", "repr-digest", "content-digest", "accept-ranges"} & set(names)
    assert [n for n in names if n in ("content-type", "x-keep", "last-modified")] == \
        ["content-type", "x-keep", "last-modified"]
    decoded = gzip.decompress(response.body) if not stream else zlib.decompressobj(31).decompress(body(response))
    assert decoded == TEXT


@BOTH
@pytest.mark.parametrize(("vary", "want"), [
    ([], ["Accept-Encoding"]),
    ([("Vary", "Cookie")], ["Cookie", "Accept-Encoding"]),
    ([("Vary", "cookie, accept-encoding")], ["cookie, accept-encoding"]),
    ([("Vary", "Origin"), ("vary", "Accept-Encoding")], ["Origin", "Accept-Encoding"]),
    ([("Vary", "*")], ["*"]),
    ([("Vary", "X-Accept-Encoding-Hint")], ["X-Accept-Encoding-Hint", "Accept-Encoding"]),
])
def test_vary_names_accept_encoding_once(vary: Headers, want: list[str], stream: bool) -> None:
    response = compress([("Content-Type", "text/html"), *vary], stream=stream)
    assert values(response, "content-encoding") == ["gzip"] and values(response, "vary") == want


@BOTH
def test_an_answer_that_would_be_compressed_for_another_client_says_vary(stream: bool) -> None:
    """A cache must not hand the identity copy to a client that asked for gzip and vice versa: as nginx's
    gzip_vary, the identity answer names Accept-Encoding too."""
    for request in (HttpRequest("GET", "/", "", []), HttpRequest("GET", "/", "", [("Accept-Encoding", "gzip;q=0")])):
        response = compress([("Content-Type", "text/html"), ("ETag", '"abc"')], stream=stream, request=request)
        assert values(response, "content-encoding") == [] and body(response) == TEXT
        assert values(response, "vary") == ["Accept-Encoding"] and values(response, "etag") == ['"abc"']


@BOTH
def test_head_and_types_that_do_not_compress_are_left_alone(stream: bool) -> None:
    cases: list[tuple[HttpRequest, Headers]] = [
        (HttpRequest("HEAD", "/", "", [("Accept-Encoding", "gzip")]), [("Content-Type", "text/html"), ("ETag", '"a"')]),
        (GZIP, [("Content-Type", "image/png"), ("ETag", '"a"')]),
        (GZIP, [("Content-Type", "text/html"), ("Content-Encoding", "br"), ("ETag", '"a"')]),
    ]
    for request, headers in cases:
        response = compress(headers, stream=stream, request=request)
        assert (response.headers, body(response)) == (headers, TEXT)


def test_the_header_scan_is_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules read five headers: one walk over the list, not one per header (it runs for every answer)."""
    walks: list[int] = []

    class Counted(list):  # type: ignore[type-arg]
        def __iter__(self) -> object:  # type: ignore[override]
            walks.append(1)
            return super().__iter__()

    headers = Counted([("Content-Type", "text/html"), ("ETag", '"a"'), ("Cache-Control", "public")]
                      + [(f"X-{i}", "v") for i in range(20)])
    response = HttpResponse(200, headers, TEXT)
    maybe_compress(response, GZIP, force=False, negotiate=True)
    assert values(response, "content-encoding") == ["gzip"]
    assert len(walks) <= 2  # the rules' scan, and the rewrite of the list itself

