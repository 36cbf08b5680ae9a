"""HTTP APIs with payload format 2.0, and Lambda Function URLs (the same shape).

`rawQueryString` is exactly what the client sent. `rawPath` is decoded by HTTP APIs and kept encoded by
Function URLs: encode_path handles both without double-encoding. A named stage prefixes rawPath and is
removed so the app sees the same path as on any other source. Cookies travel in their own array both ways.
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
    response_headers,
    want_method,
    want_str,
)
from .url import encode_path, encode_raw_query

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any


def decode(event: Event) -> HttpRequest:
    context = opt_map(event, "requestContext")
    http = opt_map(context, "http")
    method = want_method(http.get("method"), "requestContext.http.method")
    path = want_str(event.get("rawPath") or http.get("path") or "/", "rawPath")
    stage = context.get("stage")
    prefix = ""
    # A named stage is in rawPath only through the API's own execute-api domain; a custom domain's mapping
    # has already removed it, and there a first segment equal to the stage's name is the app's own.
    domain = str(context.get("domainName") or "")
    named = isinstance(stage, str) and stage != "" and stage != "$default"
    if named and (not domain or ".execute-api." in domain) and (path + "/").startswith(f"/{stage}/"):
        prefix = f"/{stage}"
        path = path[len(prefix):] or "/"
    headers = headers_from_single(opt_map(event, "headers"))
    cookies = event.get("cookies")
    if cookies:
        if not isinstance(cookies, list):
            raise EventError("cookies must be a list")
        # Function URLs repeat the cookies in a `cookie` header; the array is the complete copy.
        headers = [(n, v) for n, v in headers if n.lower() != "cookie"]
        headers.append(("cookie", "; ".join(str(c) for c in cookies)))
    try:
        body = decode_body(event.get("body"), event.get("isBase64Encoded"))
    except ValueError as exc:
        raise EventError(str(exc)) from None
    request = HttpRequest(
        method=method,
        path=encode_path(path),
        query=encode_raw_query(want_str(event.get("rawQueryString") or "", "rawQueryString")),
        headers=host_or(headers, str(context.get("domainName") or "")),
        body=body,
    )
    request.prefix = encode_path(prefix) if prefix else ""
    return request


def _split(response: HttpResponse) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in response_headers(response):
        lower = name.lower()
        if lower == "set-cookie":
            cookies.append(value)
        elif lower in headers:
            headers[lower] = headers[lower] + ", " + value
        else:
            headers[lower] = value
    return headers, cookies


def encode(response: HttpResponse) -> dict[str, Any]:
    headers, cookies = _split(response)
    body, is_base64 = encode_body(response.body, headers.get("content-type"), headers.get("content-encoding"))
    result: dict[str, Any] = {"statusCode": response.status, "headers": headers}
    if cookies:
        result["cookies"] = cookies
    result["body"] = body
    result["isBase64Encoded"] = is_base64
    return result


def prelude(response: HttpResponse) -> dict[str, Any]:
    headers, cookies = _split(response)
    return {"statusCode": response.status, "headers": headers, "cookies": cookies}
