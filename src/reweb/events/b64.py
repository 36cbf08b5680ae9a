"""Base64 both ways, fast for large bodies.

CPython's binascii works a byte at a time: on the reference machine 4 MB costs ~16 ms to encode and ~27 ms to
decode strictly, more than everything else an invocation does. pybase64 (SIMD) does either in under 1 ms. It is
imported on the first body of FAST_MIN bytes or more (about 2 ms, once), so small-body apps and the cold start
never pay for it; without it (an exotic platform with no wheel) binascii is used. Both reject the same inputs
except that pybase64 also refuses padding past `==`.
"""

from __future__ import annotations

import binascii
import functools  # already loaded by re: free at start-up

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

FAST_MIN = 1 << 15  # below this binascii is within a few microseconds and needs no import

@functools.cache
def _fast_module() -> ModuleType | None:
    try:
        import pybase64
    except ImportError:
        return None
    return pybase64


def encode(data: bytes) -> bytes:
    """Standard base64 with padding, no newlines."""
    if len(data) >= FAST_MIN:
        fast = _fast_module()
        if fast is not None:
            result: bytes = fast.b64encode(data)
            return result
    return binascii.b2a_base64(data, newline=False)


def decode(text: str | bytes) -> bytes:
    """Strict: any character outside the alphabet, or bad padding, raises ValueError (binascii.Error)."""
    if len(text) >= FAST_MIN:
        fast = _fast_module()
        if fast is not None:
            result: bytes = fast.b64decode(text, validate=True)
            return result
    return binascii.a2b_base64(text, strict_mode=True)
