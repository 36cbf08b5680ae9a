"""Pre-built JSON encoders and decoder: json.dumps with any non-default option builds a new encoder on every call,
and even a prebuilt JSONEncoder.encode makes a new C encoder object per call (iterencode), behind two Python
frames. Here the C encoder and scanner are made once and called directly: the same output, the same errors,
less work on every invocation. Without the C accelerator (another Python) they are the plain json functions."""

from __future__ import annotations

import json
from json import decoder as _decoder
from json import encoder as _encoder
from json import scanner as _scanner

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _prebuilt(ensure_ascii: bool) -> Callable[[Any], str]:
    encoder = json.JSONEncoder(ensure_ascii=ensure_ascii, separators=(",", ":"), check_circular=False)
    make = getattr(_encoder, "c_make_encoder", None)  # not in typeshed: _json's C encoder class
    if make is None:  # pragma: no cover - CPython always has _json
        return encoder.encode
    quote = _encoder.encode_basestring_ascii if ensure_ascii else _encoder.encode_basestring
    # The arguments JSONEncoder.iterencode passes for these options (markers None: check_circular=False).
    iterencode = make(None, encoder.default, quote, None, ":", ",", False, False, True)
    join = "".join

    def dumps(value: Any) -> str:
        return join(iterencode(value, 0))

    return dumps


# ASCII only: safe as an HTTP header value.
dumps_ascii = _prebuilt(ensure_ascii=True)
# Non-ASCII kept as is: a Lambda result costs the UTF-8 bytes, not six bytes per character.
dumps_utf8 = _prebuilt(ensure_ascii=False)
# A str as an ASCII JSON string literal (what dumps_ascii gives for a str, without the encoder around it).
quote_ascii: Callable[[str], str] = _encoder.encode_basestring_ascii

_scan_once = _scanner.make_scanner(_decoder.JSONDecoder())  # type: ignore[arg-type]  # typeshed's is odd


def loads(data: bytes) -> Any:
    """json.loads(data) for the usual event: UTF-8 bytes holding one object and nothing after it, scanned
    without json.loads's encoding detection and wrappers. Anything else (leading or trailing whitespace, other
    encodings, invalid JSON) goes to json.loads itself: the same value or the same exception, always."""
    if data[:1] == b"{" and data[1:2] != b"\x00":  # json.detect_encoding would say UTF-8 (no BOM, not UTF-16/32)
        try:
            text = data.decode("utf-8", "surrogatepass")
            value, end = _scan_once(text, 0)
        except (ValueError, StopIteration, RecursionError):
            pass
        else:
            if end == len(text):
                return value
    return json.loads(data)
