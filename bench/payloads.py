"""Deterministic bodies: HTML-like text (with quotes and newlines that JSON must escape) and random binary."""

from __future__ import annotations

import functools
import random

_LINE = b'<p class="row">The quick brown fox jumps over the lazy dog; caf\xc3\xa9 & "quotes"</p>\n'


@functools.lru_cache(maxsize=32)
def text_body(size: int) -> bytes:
    cut = (_LINE * (size // len(_LINE) + 1))[:size]
    valid = cut.decode("utf-8", "ignore").encode()  # never end inside a multi-byte character
    return valid + b" " * (size - len(valid))


@functools.lru_cache(maxsize=32)
def binary_body(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def body(size: int, kind: str) -> bytes:
    return binary_body(size) if kind == "bin" else text_body(size)


def content_type(kind: str) -> str:
    return "application/octet-stream" if kind == "bin" else "text/html; charset=utf-8"
