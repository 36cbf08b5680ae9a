"""Pure translation between Lambda events and HTTP: no sockets, no clock.

detect() picks the event's kind; the kind decodes the event into an HttpRequest and encodes an HttpResponse
into the result (or streaming prelude) that its source expects.
"""

from __future__ import annotations

from ..frontdoors import ALB_LIMIT, LAMBDA_LIMIT, MB, response_limit
from . import alb, http_api, lattice, rest
from .common import Event, EventError, Kind

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any

# Each kind's result limit is its front door's (frontdoors.py); lattice-v1 and passthrough have none emulated.
REST = Kind("rest", rest.decode, rest.encode, rest.prelude, response_limit("rest"))
HTTP_API = Kind("http-api", http_api.decode, http_api.encode, http_api.prelude, response_limit("http-api"))
ALB = Kind("alb", alb.decode, alb.encode_single, None, response_limit("alb"))
ALB_MULTI = Kind("alb-multi", alb.decode, alb.encode_multi, None, response_limit("alb-multi"))
LATTICE_V1 = Kind("lattice-v1", lattice.decode_v1, lattice.encode, None, LAMBDA_LIMIT)
LATTICE_V2 = Kind("lattice-v2", lattice.decode_v2, lattice.encode, None, response_limit("lattice-v2"))


def _not_http(event: object) -> Any:
    raise EventError("not an HTTP event")


PASSTHROUGH = Kind("passthrough", _not_http, _not_http, None, LAMBDA_LIMIT, http=False)

KINDS = (REST, HTTP_API, ALB, ALB_MULTI, LATTICE_V1, LATTICE_V2, PASSTHROUGH)


def detect(event: object) -> Kind:
    """The kind of an event, from the keys only its source sends. Anything else is passed through."""
    if not isinstance(event, dict):
        return PASSTHROUGH
    context = event.get("requestContext")
    if isinstance(context, dict):
        if "elb" in context:
            return ALB_MULTI if event.get("multiValueHeaders") is not None else ALB
        if isinstance(context.get("http"), dict) and event.get("version") == "2.0":
            return HTTP_API
        if "serviceNetworkArn" in context or "serviceArn" in context:
            return LATTICE_V2
    # REST and HTTP API 1.0; a REST authorizer input has a methodArn and is not a request to serve.
    if "httpMethod" in event and "methodArn" not in event and (isinstance(context, dict) or "path" in event):
        return REST
    if "raw_path" in event and "method" in event:
        return LATTICE_V1
    if event.get("version") == "2.0" and "method" in event and "path" in event:
        return LATTICE_V2
    return PASSTHROUGH


__all__ = ["ALB_LIMIT", "KINDS", "LAMBDA_LIMIT", "MB", "Event", "EventError", "Kind", "detect"]
