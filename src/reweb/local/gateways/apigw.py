"""API Gateway REST APIs (payload 1.0, `rest`).

Facts reproduced (see ../shared/fixtures/events/SOURCES.md): `path` keeps the client's encoding and has
no stage; query maps are decoded (`+` is a space), the single-value maps keep the last value; header
names keep the client's casing except a few AWS capitalises; no Content-Length reaches the function;
cookies stay in the Cookie header; `body` is null without a body.
"""

from __future__ import annotations

from typing import Any

from .base import (
    MB,
    Context,
    Failure,
    Inbound,
    JsonDict,
    MalformedResult,
    Outbound,
    Prelude,
    aws_time,
    decode_result_body,
    decoded_query,
    encode_body,
    group,
    json_error,
    multi_headers,
    parse_json_object,
    single_headers,
    status_of,
    typed,
)
from .headers import forwarded_headers

# What REST gives an answer without a Content-Type: application/json, as AWS SAM CLI's emulator models it
# (samcli/local/apigw/local_apigw_service.py, _parse_v1_payload_format_lambda_output).
UNTYPED = "application/json"

# AWS rewrites these names to canonical case whatever the client sent (captures in SOURCES.md).
_CANONICAL = {
    "host": "Host",
    "user-agent": "User-Agent",
    "authorization": "Authorization",
    "x-forwarded-for": "X-Forwarded-For",
    "x-forwarded-port": "X-Forwarded-Port",
    "x-forwarded-proto": "X-Forwarded-Proto",
    "x-amzn-trace-id": "X-Amzn-Trace-Id",
}


def rest_headers(req: Inbound, ctx: Context) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    by_lower: dict[str, str] = {}
    for name, value in forwarded_headers(req, ctx, drop=("content-length",)):
        lower = name.lower()
        key = by_lower.setdefault(lower, _CANONICAL.get(lower, name))
        merged.setdefault(key, []).append(value)
    return merged


class RestApi:
    name = "rest"
    max_request_body = 10 * MB
    max_result = 6 * MB
    integration_timeout: float | None = 29.0
    streams = True  # REST APIs can carry response streaming since 2025 (response transfer mode)
    stream_duration: float | None = None
    stream_idle_timeout: float | None = None
    stream_throttle: tuple[int, int] | None = None

    def __init__(self, stream: bool = False) -> None:
        if stream:
            # responseTransferMode STREAM (https://docs.aws.amazon.com/apigateway/latest/developerguide/
            # response-transfer-mode.html): up to 15 minutes (the integration timeout goes up to that too), a 5-minute
            # idle timeout (Regional endpoints), the first 10 MB at full speed and then 2 MB/s. The event is the same.
            self.integration_timeout = 15 * 60.0
            self.stream_duration = 15 * 60.0
            self.stream_idle_timeout = 5 * 60.0
            self.stream_throttle = (10 * MB, 2 * MB)

    def build_event(self, req: Inbound, ctx: Context) -> JsonDict:
        headers = rest_headers(req, ctx)
        query = group(decoded_query(req.raw_query))
        body: str | None = None
        is_b64 = False
        if req.body:
            body, is_b64 = encode_body(req.body, req.header("content-type"))
        proxy = req.raw_path[1:].rstrip("/")  # {proxy+} drops the trailing slash, `path` keeps it
        resource = "/{proxy+}" if proxy else "/"
        host = ctx.host.split(":", 1)[0]
        return {
            "resource": resource,
            "path": req.raw_path,
            "httpMethod": req.method,
            "headers": {k: v[-1] for k, v in headers.items()},
            "multiValueHeaders": headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": {"proxy": proxy} if proxy else None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ctx.account_id,
                "apiId": ctx.api_id,
                "domainName": host,
                "domainPrefix": host.split(".", 1)[0],
                "extendedRequestId": ctx.request_id[:16],
                "httpMethod": req.method,
                "identity": {
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "sourceIp": req.source_ip,
                    "user": None,
                    "userAgent": req.header("user-agent"),
                    "userArn": None,
                },
                # Served as if from a custom domain with no base path mapping: the URL has no stage.
                "path": req.raw_path,
                "protocol": req.protocol,
                "requestId": ctx.request_id,
                "requestTime": aws_time(ctx.time_epoch_ms),
                "requestTimeEpoch": ctx.time_epoch_ms,
                "resourceId": "reweb1",
                "resourcePath": resource,
                "stage": ctx.stage,
            },
            "body": body,
            "isBase64Encoded": is_b64,
        }

    def translate_result(self, payload: bytes) -> Outbound:
        result = parse_json_object(payload)
        status = status_of(result)
        headers = _merge(single_headers(result.get("headers")), multi_headers(result.get("multiValueHeaders")))
        return Outbound(status, typed(headers, UNTYPED), decode_result_body(result))

    def translate_prelude(self, prelude: JsonDict) -> Prelude:
        # Assumed: a streamed answer gets the same default as a buffered one (the streaming pages are silent).
        out = _prelude(prelude)
        return Prelude(out.status, typed(out.headers, UNTYPED))

    def failure(self, kind: Failure, ctx: Context) -> Outbound:
        extra = [("x-amzn-RequestId", ctx.request_id), ("x-amzn-ErrorType", _ERROR_TYPE[kind])]
        if kind is Failure.GATEWAY_TIMEOUT:
            return json_error(504, "Endpoint request timed out", extra)
        if kind is Failure.REQUEST_TOO_LARGE:
            return json_error(413, "Request Too Long", extra)
        if kind is Failure.THROTTLED:
            # "If the Lambda API rejects the invocation request, API Gateway returns a 500 error code"
            # (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html).
            return json_error(500, "Internal server error", extra)
        return json_error(502, "Internal server error", extra)


_ERROR_TYPE = {
    Failure.FUNCTION_ERROR: "InternalServerErrorException",
    Failure.MALFORMED: "InternalServerErrorException",
    Failure.GATEWAY_TIMEOUT: "InternalServerErrorException",
    Failure.REQUEST_TOO_LARGE: "RequestTooLongException",
    Failure.EVENT_TOO_LARGE: "InternalServerErrorException",
    Failure.RESPONSE_TOO_LARGE: "InternalServerErrorException",
    Failure.THROTTLED: "InternalServerErrorException",
}


def _merge(single: list[tuple[str, str]], multi: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """REST merges both maps; a name present in multiValueHeaders wins over the single map."""
    multi_names = {k.lower() for k, _ in multi}
    return [(k, v) for k, v in single if k.lower() not in multi_names] + multi


def _prelude(prelude: Any) -> Prelude:
    if not isinstance(prelude, dict):
        raise MalformedResult("prelude is not a JSON object")
    status = status_of(prelude, default=200)
    headers = single_headers(prelude.get("headers")) + multi_headers(prelude.get("multiValueHeaders"))
    cookies = prelude.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedResult("cookies must be a list of strings")
    headers += [("Set-Cookie", c) for c in cookies]
    return Prelude(status, headers)


rest_prelude = _prelude
