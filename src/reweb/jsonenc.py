"""Pre-built JSON encoders and decoder: json.dumps with any non-default option builds a new encoder on every call,
and even a prebuilt JSONEncoder.encode makes a new C encoder object per call (iterencode), behind two Python
frames. Here the C encoder and scanner are made once and called directly: the same output, the same errors,
less work on every invocation. Without the C accelerator (another Python) they are the plain json functions."""

from __future__ import annotations

import json
import os
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
        except ValueError:
            pass
        else:
            return _loads_text(text, data)
    return json.loads(data)


def _loads_text(text: str, data: bytes) -> Any:
    """loads(data), given `text`, data decoded as loads() does."""
    try:
        value, end = _scan_once(text, 0)
    except (ValueError, StopIteration, RecursionError):
        pass
    else:
        if end == len(text):
            return value
    return json.loads(data)


# A JSON string no event holds: a value cut out of the event text is replaced by it, and finding it back in the
# top-level slot proves the value was that slot's (random per process: an event cannot spell it in advance).
_MARK = "reweb-" + os.urandom(12).hex()
_MARK_JSON = f'"{_MARK}"'


def loads_with_raw(data: bytes, key: str) -> tuple[Any, str | None]:
    """loads(data), and the exact JSON text of the top-level member `key` when it is found cheaply: the value
    as the event spells it, for a caller that would otherwise encode the decoded value again (the
    x-amzn-request-context header). None when not (no such key, another spelling of it, a lookalike elsewhere
    in the text, anything unusual): then the caller encodes the value itself.

    How: the first `"key":` in the text is the candidate; its value is decoded on its own (its end is where the
    scanner stopped), and the rest of the text with a marker string in the value's place. The value goes back
    where the marker is. If the marker is not the top-level member `key` (the candidate was a lookalike, or the
    key repeats), the text is decoded again whole, as loads() does: the value is loads(data)'s, always."""
    if data[:1] != b"{" or data[1:2] == b"\x00":
        return json.loads(data), None
    try:
        text = data.decode("utf-8", "surrogatepass")
    except ValueError:
        return json.loads(data), None
    quoted = f'"{key}"'
    at = text.find(quoted)
    if at < 0:
        return _loads_text(text, data), None
    start = at + len(quoted)  # then ":" or " : ", and at most one space before the value (json.dumps's default)
    if text[start:start + 1] != ":":
        if text[start:start + 2] != " :":
            return _loads_text(text, data), None
        start += 1
    start += 2 if text[start + 1:start + 2] == " " else 1
    try:
        member, end = _scan_once(text, start)
        rest = text[:start] + _MARK_JSON + text[end:]
        value, stop = _scan_once(rest, 0)
    except (ValueError, StopIteration, RecursionError):
        return _loads_text(text, data), None
    if stop != len(rest) or value.__class__ is not dict or value.get(key) != _MARK:
        return _loads_text(text, data), None
    value[key] = member
    return value, text[start:end]
