"""Pre-built JSON encoders: json.dumps with any non-default option builds a new encoder on every call,
which costs several µs on each invocation. These are built once."""

from __future__ import annotations

import json

# ASCII only: safe as an HTTP header value.
dumps_ascii = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
# Non-ASCII kept as is: a Lambda result costs the UTF-8 bytes, not six bytes per character.
dumps_utf8 = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
