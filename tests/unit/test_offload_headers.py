"""Which of the app's headers go on the stored object and in what form (issue 18, points 6 and 7): S3 takes
printable ASCII only, so a non-ASCII Content-Disposition is rewritten the RFC 5987 way and anything else that
S3 cannot carry is dropped with a note, never a crash."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reweb.offload import NOT_ON_REDIRECT, REPRESENTATION, STORED, ascii_disposition, object_headers


@pytest.mark.parametrize(("value", "stored"), [
    ('attachment; filename="報告書.pdf"', "attachment; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf"),
    ('inline; filename="Größe 1.txt"; size=3', "inline; filename*=UTF-8''Gr%C3%B6%C3%9Fe%201.txt; size=3"),
    # A plain name beside its starred form: the starred one says it already.
    ("attachment; filename=\"報.pdf\"; filename*=UTF-8''%E5%A0%B1.pdf", "attachment; filename*=UTF-8''%E5%A0%B1.pdf"),
    # A starred value whose characters came raw: encoded, its language kept.
    ("attachment; filename*=UTF-8'ja'報.pdf", "attachment; filename*=UTF-8'ja'%E5%A0%B1.pdf"),
    ('attachment; filename="a \\"q\\" é"', "attachment; filename*=UTF-8''a%20%22q%22%20%C3%A9"),
])
def test_a_non_ascii_disposition_is_stored_the_rfc_5987_way(value: str, stored: str) -> None:
    kept, notes = object_headers([("Content-Disposition", value)])
    assert kept == {"Content-Disposition": stored}
    assert notes and "RFC 5987" in notes[0]


def test_ascii_values_are_kept_as_they_are() -> None:
    headers = [("content-type", "application/pdf"), ("Content-Disposition", "attachment; filename=a.pdf"),
               ("Cache-Control", "private"), ("cache-control", "max-age=60"), ("Content-Language", "de"),
               ("Expires", "Tue, 01 Dec 2026 10:00:00 GMT"), ("X-Custom", "not stored"), ("ETag", '"v1"')]
    kept, notes = object_headers(headers)
    assert kept == {"Content-Type": "application/pdf", "Content-Disposition": "attachment; filename=a.pdf",
                    "Cache-Control": "private, max-age=60", "Content-Language": "de",
                    "Expires": "Tue, 01 Dec 2026 10:00:00 GMT"}
    assert notes == []


@pytest.mark.parametrize(("name", "value"), [("Content-Language", "日本語"), ("Content-Type", "text/plain; x=é"),
                                             ("Cache-Control", "max-age=1\x7f"), ("Expires", "0"),
                                             ("Content-Disposition", "添付; filename=a")])
def test_what_s3_cannot_carry_is_dropped_with_a_note(name: str, value: str) -> None:
    kept, notes = object_headers([(name, value), ("Content-Encoding", "gzip")])
    assert kept == {"Content-Encoding": "gzip"}
    assert len(notes) >= 1 and "dropped" in notes[-1] and name in notes[-1]


@given(st.text(min_size=1, max_size=40).filter(lambda t: "\\" not in t and '"' not in t))
def test_every_file_name_comes_back_from_its_stored_form(name: str) -> None:
    kept, _notes = object_headers([("Content-Disposition", f'attachment; filename="{name}"')])
    value = kept.get("Content-Disposition")
    if value is None:  # only a name S3 could never carry (a control character) is dropped
        assert not name.isprintable()
        return
    assert value.isascii() and value.isprintable()
    if name.isascii():
        return
    assert value.startswith("attachment; filename*=UTF-8''")
    assert unquote(value.removeprefix("attachment; filename*=UTF-8''")) == name


def test_the_redirect_never_carries_what_describes_the_body() -> None:
    assert set(STORED) <= NOT_ON_REDIRECT and REPRESENTATION <= NOT_ON_REDIRECT
    for name in ("set-cookie", "vary", "access-control-allow-origin", "access-control-expose-headers", "x-app"):
        assert name not in NOT_ON_REDIRECT
    assert ascii_disposition("attachment") == "attachment"
