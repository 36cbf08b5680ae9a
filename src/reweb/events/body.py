"""The text-versus-base64 rule, in both directions.

A Lambda result is JSON, so a body travels either as a JSON string (text) or base64 (everything else).
Base64 costs a third of the 6 MB limit, so every body that is text goes as text. A body is text when:
  - it has no Content-Encoding (or `identity`): gzip/br/zstd bytes are binary whatever their type, and
  - its Content-Type is textual: text/*, JSON, XML, JavaScript, form data, YAML, GraphQL, SVG, and any
    `+json`/`+xml` suffix; a missing Content-Type is treated as text only if the bytes are UTF-8, and
  - the bytes are valid UTF-8 (a "text/plain" body of Latin-1 bytes still goes as base64, losslessly).
"""

from __future__ import annotations

from . import b64

_TEXT_TYPES = frozenset({
    "application/json",
    "application/javascript",
    "application/ecmascript",
    "application/x-javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/x-www-form-urlencoded",
    "application/yaml",
    "application/x-yaml",
    "application/graphql",
    "application/x-ndjson",
    "application/ld+json",
    "application/manifest+json",
    "application/sql",
    "application/csv",
    "image/svg+xml",
})


def is_text_type(content_type: str | None, content_encoding: str | None = None) -> bool:
    if content_encoding and content_encoding.strip().lower() not in ("identity", ""):
        return False
    if not content_type:
        return True  # decided by the bytes alone
    mime = content_type.split(";", 1)[0].strip().lower()
    return (
        mime.startswith("text/")
        or mime in _TEXT_TYPES
        or mime.endswith("+json")
        or mime.endswith("+xml")
    )


def encode_body(body: bytes, content_type: str | None, content_encoding: str | None) -> tuple[str, bool]:
    """Body bytes -> (JSON string field, isBase64Encoded)."""
    if not body:
        return "", False
    if is_text_type(content_type, content_encoding):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return b64.encode(body).decode("ascii"), True


def decode_body(body: object, is_base64: object) -> bytes:
    """The event's body field -> bytes. Raises ValueError on a body that cannot be what it claims."""
    if body is None or body == "":
        return b""
    if not isinstance(body, str):
        raise ValueError(f"body must be a string, not {type(body).__name__}")
    if is_base64 is not None and not isinstance(is_base64, bool):  # "true" as a string is not base64's flag
        raise ValueError(f"isBase64Encoded must be true or false, not {is_base64!r:.40}")
    if is_base64 is True:
        try:
            return b64.decode(body)
        except ValueError as exc:  # binascii.Error, or non-ASCII text
            raise ValueError(f"body is marked base64 but is not: {exc}") from None
    return body.encode("utf-8", "surrogatepass")
