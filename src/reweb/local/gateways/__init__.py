"""The emulated front doors, keyed by the names of reweb.frontdoors (where each is registered)."""

from __future__ import annotations

from collections.abc import Callable

from ...frontdoors import SPELLINGS, find
from .alb import Alb
from .apigw import RestApi
from .base import Context, Failure, Gateway, Inbound, MalformedResult, Outbound, Prelude
from .lattice import Lattice
from .v2 import FunctionUrl, HttpApi

# Every front door of frontdoors.FRONT_DOORS, by its name; the argument: invoked with response streaming.
GATEWAYS: dict[str, Callable[[bool], Gateway]] = {
    "function-url": lambda stream: FunctionUrl(),
    "http-api": lambda stream: HttpApi(),
    "rest-api": lambda stream: RestApi(stream=stream),  # STREAM transfer mode: other limits
    "alb": lambda stream: Alb(multi=False),
    "alb-multi": lambda stream: Alb(multi=True),
    "lattice": lambda stream: Lattice(),
}
SOURCES = SPELLINGS  # what `--source` takes: every name and alias

__all__ = ["GATEWAYS", "SOURCES", "Context", "Failure", "Gateway", "Inbound", "MalformedResult", "Outbound",
           "Prelude", "gateway_for"]


def gateway_for(source: str, stream: bool = False) -> Gateway:
    """The front door `--source` names; `stream`: invoked with response streaming (REST's STREAM transfer mode)."""
    door = find(source)
    if door is None:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    return GATEWAYS[door.name](stream)
