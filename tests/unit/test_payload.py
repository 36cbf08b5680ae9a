"""The fast serialiser must produce exactly the result kind.encode() describes, for any response."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from reweb import events
from reweb.events.payload import result_bytes
from reweb.http import HttpResponse

CONTENT_TYPES = [None, "text/html; charset=utf-8", "application/json", "application/octet-stream", "image/png",
                 "text/plain", "application/javascript", "image/svg+xml"]
TRAPS = [b'"quoted" \\ back\\slash', b"\x00\x01\x1f ctl", b"tab\there\r\nline", b"\xce\xbb"]
bodies = st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                   st.sampled_from(TRAPS))
header_names = st.sampled_from(["Set-Cookie", "X-Multi", "Vary", "Cache-Control", "X-Uni"])
header_values = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=300, deadline=None)
@given(status=st.sampled_from([200, 201, 204, 302, 404, 500]), body=bodies,
       content_type=st.sampled_from(CONTENT_TYPES), encoding=st.sampled_from([None, "gzip", "identity"]),
       extra=st.lists(st.tuples(header_names, header_values), max_size=5))
def test_result_bytes_equals_the_encoded_dict(status: int, body: bytes, content_type: str | None,
                                              encoding: str | None, extra: list[tuple[str, str]]) -> None:
    headers = list(extra)
    if content_type:
        headers.append(("Content-Type", content_type))
    if encoding:
        headers.append(("Content-Encoding", encoding))
    for kind in events.KINDS:
        if not kind.http:
            continue
        response = HttpResponse(status, list(headers), body, "Reason")
        assert json.loads(result_bytes(kind, response)) == kind.encode(response), kind.name
