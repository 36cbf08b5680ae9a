"""VPC Lattice, event structure v1 (snake_case) and v2 (camelCase, values may be lists).

Query values arrive decoded in both versions, so they are re-encoded. Responses are a single-value map.
"""

from __future__ import annotations

from ..http import HttpRequest, HttpResponse
from .body import decode_body, encode_body
from .common import (
    Event,
    EventError,
    headers_from_single,
    host_or,
    opt_map,
    pairs_from_multi,
    response_headers,
    single_value_headers,
    status_description,
    want_method,
    want_str,
)
from .url import encode_path, encode_query_pairs

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any


def _decode(event: Event, path_key: str, query_key: str, base64_key: str) -> HttpRequest:
    method = want_method(event.get("method"), "method")
    raw_path = want_str(event.get(path_key) or "/", path_key)
    path, _, inline_query = raw_path.partition("?")
    query_map = opt_map(event, query_key)
    query = encode_query_pairs(pairs_from_multi(query_map)) if query_map else inline_query
    try:
        body = decode_body(event.get("body"), event.get(base64_key))
    except ValueError as exc:
        raise EventError(str(exc)) from None
    return HttpRequest(
        method=method,
        path=encode_path(path),
        query=query,
        headers=host_or(headers_from_single(opt_map(event, "headers")), ""),
        body=body,
    )


def decode_v1(event: Event) -> HttpRequest:
    return _decode(event, "raw_path", "query_string_parameters", "is_base64_encoded")


def decode_v2(event: Event) -> HttpRequest:
    return _decode(event, "path", "queryStringParameters", "isBase64Encoded")


def encode(response: HttpResponse) -> dict[str, Any]:
    headers = response_headers(response)
    body, is_base64 = encode_body(response.body, response.header("content-type"),
                                  response.header("content-encoding"))
    return {
        "statusCode": response.status,
        "statusDescription": status_description(response.status, response.reason),
        "headers": single_value_headers(headers, cookies_in_case_variants=True),
        "body": body,
        "isBase64Encoded": is_base64,
    }
