"""The buffered result as bytes, fast: the body is spliced into the JSON without a second encoding pass.

kind.encode() gives the result as a dict (clear, and what the tests read); for a 4 MB body, json.dumps of that
dict costs tens of milliseconds. Here the dict is built with an empty body, serialised (small), and the body
goes in as bytes: base64 is already JSON-safe, and UTF-8 text only needs `"`, `\\` and control characters
escaped, which bytes.replace does at memory speed. json.loads(result_bytes(...)) == kind.encode(...) always
(a property test holds it to that).
"""

from __future__ import annotations

import codecs
import json

from ..http import HttpResponse
from ..jsonenc import dumps_utf8
from . import b64
from .body import is_text_type
from .common import Kind

# Maps the control characters JSON must escape (all below 0x20 but \t \n \r) to 0, everything else to 1:
# one translate + one memchr finds them, far faster than a regex scan of a large body.
_CONTROL_MAP = bytes(0 if (c < 0x20 and c not in (0x09, 0x0A, 0x0D)) else 1 for c in range(256))


CHUNK = 1 << 18  # escape large bodies piece by piece: the peak stays near 2x the body, not 4x


def json_string_parts(body: bytes, content_type: str | None,
                      content_encoding: str | None) -> tuple[list[bytes], bool]:
    """Body -> (the inside of a JSON string literal, in parts; isBase64Encoded), by body.py's rule."""
    if not body:
        return [], False
    if is_text_type(content_type, content_encoding) and (body.isascii() or _is_utf8(body)):
        parts = []
        for start in range(0, len(body), CHUNK):
            # Slicing inside a multi-byte character is harmless: only ASCII bytes are ever replaced.
            piece = body[start:start + CHUNK] if len(body) > CHUNK else body
            if b"\x00" in piece.translate(_CONTROL_MAP):
                # Rare control characters: let the json module escape the whole body.
                return [json.dumps(body.decode("utf-8"), ensure_ascii=False).encode("utf-8")[1:-1]], False
            piece = piece.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            if b"\n" in piece:
                piece = piece.replace(b"\n", b"\\n")
            if b"\r" in piece:
                piece = piece.replace(b"\r", b"\\r")
            if b"\t" in piece:
                piece = piece.replace(b"\t", b"\\t")
            parts.append(piece)
        return parts, False
    return [b64.encode(body)], True


def json_string_body(body: bytes, content_type: str | None, content_encoding: str | None) -> tuple[bytes, bool]:
    """Body -> (the inside of a JSON string literal, isBase64Encoded), in one piece."""
    parts, is_base64 = json_string_parts(body, content_type, content_encoding)
    return b"".join(parts), is_base64


def _is_utf8(body: bytes) -> bool:
    """Valid UTF-8? Checked piece by piece so a large body never becomes one large str."""
    if len(body) <= CHUNK:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(body), CHUNK):
            decoder.decode(body[start:start + CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def result_parts(kind: Kind, response: HttpResponse) -> list[bytes]:
    """The buffered Lambda result for `response`, serialised as parts to send in one scatter-gather write
    (a large body is never copied into one joined buffer)."""
    body = response.body
    response.body = b""
    try:
        result = kind.encode(response)
    finally:
        response.body = body
    result.pop("body", None)
    result.pop("isBase64Encoded", None)
    content_type = content_encoding = None
    for name, value in response.headers:
        lower = name.lower()
        if lower == "content-type":
            content_type = value
        elif lower == "content-encoding":
            content_encoding = value
    text, is_base64 = json_string_parts(body, content_type, content_encoding)
    head = dumps_utf8(result).encode("utf-8", "surrogatepass")
    return [head[:-1] + b',"body":"', *text, b'","isBase64Encoded":true}' if is_base64 else
            b'","isBase64Encoded":false}']


def result_bytes(kind: Kind, response: HttpResponse) -> bytes:
    """The buffered Lambda result for `response`, serialised."""
    return b"".join(result_parts(kind, response))
