"""Fixtures the integration tests share (their helpers are in tests/support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.init_error import InitErrorApi


@pytest.fixture()
def init_api() -> Iterator[InitErrorApi]:
    api = InitErrorApi()
    yield api
    api.server.shutdown()
