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
def test_types_that_do_not_compress_are_left_alone(stream: bool) -> None:
    cases: list[tuple[HttpRequest, Headers]] = [
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



def without_body(headers: Headers, *, status: int = 200, request: HttpRequest = GZIP, stream: bool = False,
                 force: bool = False, negotiate: bool = True) -> HttpResponse:
    """What a 304 or a HEAD answer becomes: the app sent no body."""
    response = HttpResponse(status, list(headers), b"")
    (maybe_compress_stream if stream else maybe_compress)(response, request, force=force, negotiate=negotiate)
    assert body(response) == b""  # never a body (a gzip header would be one)
    return response


HEAD = HttpRequest("HEAD", "/", "", [("Accept-Encoding", "gzip")])
CONDITIONAL = HttpRequest("GET", "/", "", [("Accept-Encoding", "gzip"), ("If-None-Match", 'W/"v1"')])


@BOTH
@pytest.mark.parametrize("headers", [[("ETag", '"v1"')], [("ETag", '"v1"'), ("Content-Type", "text/html")],
                                     [("ETag", '"v1"'), ("Cache-Control", "max-age=60"), ("Vary", "Cookie")]])
def test_a_304_carries_the_etag_and_vary_its_200_would_have(headers: Headers, stream: bool) -> None:
    """RFC 9110 15.4.5: a 304 sends the ETag and Vary the 200 would have (a cache updates the stored W/"v1"
    copy only from a 304 whose validator matches it, RFC 9111 4.3.4); no Content-Encoding: it has no content."""
    full = compress([("Content-Type", "text/html"), *headers], stream=stream, request=CONDITIONAL)
    response = without_body(headers, status=304, request=CONDITIONAL, stream=stream)
    assert values(response, "etag") == values(full, "etag") == ['W/"v1"']
    assert values(response, "vary") == values(full, "vary") and "Accept-Encoding" in values(response, "vary")[-1]
    assert values(response, "content-encoding") == [] and values(response, "content-length") == []


@BOTH
def test_a_304_that_its_200_would_not_compress_says_as_much(stream: bool) -> None:
    identity = HttpRequest("GET", "/", "", [("If-None-Match", '"v1"')])  # no Accept-Encoding: identity, Vary
    response = without_body([("ETag", '"v1"')], status=304, request=identity, stream=stream)
    assert response.headers == [("ETag", '"v1"'), ("Vary", "Accept-Encoding")]
    for headers, kw in [([("ETag", '"v1"'), ("Content-Type", "image/png")], {}),
                        ([("ETag", '"v1"'), ("Cache-Control", "no-transform")], {}),
                        ([("ETag", '"v1"')], {"negotiate": False})]:
        assert without_body(headers, status=304, stream=stream, **kw).headers == headers  # type: ignore[arg-type]


@BOTH
@pytest.mark.parametrize("force", [False, True])
def test_a_head_carries_the_header_fields_of_its_get(stream: bool, force: bool) -> None:
    """RFC 9110 9.3.2: the GET's fields, its coding too; its encoded length is unknown without compressing the
    body the app did not send, so no Content-Length."""
    headers = [("Content-Type", "text/html"), ("ETag", '"a"'), ("Content-Length", str(len(TEXT)))]
    get = compress(headers, stream=stream, force=force)
    head = without_body(headers, request=HEAD, stream=stream, force=force)
    assert [h for h in get.headers if h[0].lower() != "content-length"] == head.headers
    assert values(head, "content-encoding") == ["gzip"] and values(head, "etag") == ['W/"a"']
    assert values(head, "vary") == ["Accept-Encoding"] and values(head, "content-length") == []


@BOTH
def test_a_head_whose_get_would_not_be_compressed_is_left_alone_or_says_vary(stream: bool) -> None:
    for headers, force in [([("Content-Type", "text/html"), ("Content-Length", "100")], False),  # too small
                           ([("Content-Type", "text/html"), ("Content-Length", "0")], True),  # nothing to compress
                           ([("Content-Type", "image/png"), ("Content-Length", "5000")], False),
                           ([("Content-Type", "text/html"), ("Content-Encoding", "br")], False)]:
        assert without_body(headers, request=HEAD, stream=stream, force=force).headers == headers
    plain = HttpRequest("HEAD", "/", "", [])
    headers = [("Content-Type", "text/html"), ("ETag", '"a"'), ("Content-Length", "5000")]
    assert without_body(headers, request=plain, stream=stream).headers == [*headers, ("Vary", "Accept-Encoding")]
