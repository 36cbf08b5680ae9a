"""The emulated front doors, by the name `--source` takes."""

from __future__ import annotations

from .alb import Alb
from .apigw import RestApi
from .base import Context, Failure, Gateway, Inbound, MalformedResult, Outbound, Prelude
from .lattice import Lattice
from .v2 import FunctionUrl, HttpApi

SOURCES = ("http-api", "rest", "function-url", "alb", "alb-multi", "lattice")

__all__ = ["SOURCES", "Context", "Failure", "Gateway", "Inbound", "MalformedResult", "Outbound", "Prelude",
           "gateway_for"]


def gateway_for(source: str, stream: bool = False) -> Gateway:
    """The front door `--source` names; `stream`: invoked with response streaming (REST's STREAM transfer mode)."""
    if source == "http-api":
        return HttpApi()
    if source == "rest":
        return RestApi(stream=stream)
    if source == "function-url":
        return FunctionUrl()
    if source == "alb":
        return Alb(multi=False)
    if source == "alb-multi":
        return Alb(multi=True)
    if source == "lattice":
        return Lattice()
    raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
