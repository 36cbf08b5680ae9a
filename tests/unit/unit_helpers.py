"""Shared bits for tests/unit (imported by module name: pytest puts this directory on sys.path)."""

from __future__ import annotations

import base64
import copy
import functools
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings

from reweb.http import HttpRequest
from tests.support.paths import FIXTURES

# Bounded so that tests/unit stays under a minute on a busy 2-core box; raise it for a deeper run:
# REWEB_HYPOTHESIS_EXAMPLES=2000 pytest tests/unit
EXAMPLES = int(os.environ.get("REWEB_HYPOTHESIS_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _load(rel: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / rel).read_text(encoding="utf-8"))
    return data


def load(rel: str) -> dict[str, Any]:
    """A fresh copy of a fixture event (tests may change it)."""
    return copy.deepcopy(_load(rel))


def all_fixture_files() -> list[str]:
    return sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*.json"))


def values(request: HttpRequest, name: str) -> list[str]:
    """Every value of a header, in order (names compare case-insensitively)."""
    return [v for n, v in request.headers if n.lower() == name.lower()]


def body_of(result: dict[str, Any]) -> bytes:
    """The body bytes a Lambda result carries."""
    body = result.get("body") or ""
    return base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode("utf-8")
