"""API Gateway REST APIs and HTTP APIs with payload format 1.0.

`path` has no stage and arrives percent-encoded (REST) or decoded (HTTP API 1.0); the query arrives only
as decoded maps, so it is re-encoded from `multiValueQueryStringParameters` (which keeps repeats, in order).
"""

from __future__ import annotations

from ..http import HttpRequest, HttpResponse
from .body import decode_body, encode_body
from .common import (
    Event,
    EventError,
    headers_from_multi,
    headers_from_single,
    host_or,
    multi_value_headers,
    opt_map,
    pairs_from_multi,
    response_headers,
    want_method,
    want_str,
)
from .url import encode_path, encode_query_pairs

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any


def decode(event: Event) -> HttpRequest:
    method = want_method(event.get("httpMethod"), "httpMethod")
    path = event.get("path") or "/"
    multi_query = opt_map(event, "multiValueQueryStringParameters")
    query_map = multi_query or opt_map(event, "queryStringParameters")
    multi_headers = opt_map(event, "multiValueHeaders")
    headers = headers_from_multi(multi_headers) if multi_headers else headers_from_single(opt_map(event, "headers"))
    context = opt_map(event, "requestContext")
    try:
        body = decode_body(event.get("body"), event.get("isBase64Encoded"))
    except ValueError as exc:
        raise EventError(str(exc)) from None
    return HttpRequest(
        method=method,
        path=encode_path(want_str(path, "path")),
        query=encode_query_pairs(pairs_from_multi(query_map)),
        headers=host_or(headers, str(context.get("domainName") or "")),
        body=body,
    )


def encode(response: HttpResponse) -> dict[str, Any]:
    headers = response_headers(response)
    body, is_base64 = encode_body(response.body, response.header("content-type"),
                                  response.header("content-encoding"))
    return {
        "statusCode": response.status,
        "multiValueHeaders": multi_value_headers(headers),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def prelude(response: HttpResponse) -> dict[str, Any]:
    return {"statusCode": response.status, "multiValueHeaders": multi_value_headers(response_headers(response))}
