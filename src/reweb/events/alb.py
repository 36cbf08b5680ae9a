"""Application Load Balancer targets, single-value and multi-value mode.

ALB decodes neither path nor query: both go to the app exactly as the client sent them. Multi-value mode is
all or nothing: the request has only multiValue* maps, and the response must use multiValueHeaders.
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
    single_value_headers,
    status_description,
    want_method,
    want_str,
)
from .url import encode_path, join_raw_pairs

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any


def decode(event: Event) -> HttpRequest:
    method = want_method(event.get("httpMethod"), "httpMethod")
    multi_headers = opt_map(event, "multiValueHeaders")
    if event.get("multiValueHeaders") is not None:
        headers = headers_from_multi(multi_headers)
        query_map = opt_map(event, "multiValueQueryStringParameters")
    else:
        headers = headers_from_single(opt_map(event, "headers"))
        query_map = opt_map(event, "queryStringParameters")
    try:
        body = decode_body(event.get("body"), event.get("isBase64Encoded"))
    except ValueError as exc:
        raise EventError(str(exc)) from None
    return HttpRequest(
        method=method,
        path=encode_path(want_str(event.get("path") or "/", "path")),
        query=join_raw_pairs(pairs_from_multi(query_map)),
        headers=host_or(headers, ""),  # health checks come without a Host
        body=body,
    )


def _body(response: HttpResponse, headers: list[tuple[str, str]]) -> tuple[str, bool]:
    return encode_body(response.body, response.header("content-type"), response.header("content-encoding"))


def encode_single(response: HttpResponse) -> dict[str, Any]:
    headers = response_headers(response)
    body, is_base64 = _body(response, headers)
    return {
        "statusCode": response.status,
        "statusDescription": status_description(response.status, response.reason),
        "headers": single_value_headers(headers, cookies_in_case_variants=True),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def encode_multi(response: HttpResponse) -> dict[str, Any]:
    headers = response_headers(response)
    body, is_base64 = _body(response, headers)
    return {
        "statusCode": response.status,
        "statusDescription": status_description(response.status, response.reason),
        "multiValueHeaders": multi_value_headers(headers),
        "body": body,
        "isBase64Encoded": is_base64,
    }
