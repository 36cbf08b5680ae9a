"""Payload 2.0 front doors: API Gateway HTTP APIs (`http-api`) and Lambda Function URLs (`function-url`).

They share the event shape and differ in the details the captures show: HTTP API hands `rawPath` over
percent-DECODED and takes the Cookie header out, a Function URL keeps `rawPath` encoded and keeps the
Cookie header next to the `cookies` array. Their error answers differ too.
"""

from __future__ import annotations

import json

from .apigw import rest_prelude
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
    decoded_path,
    decoded_query,
    encode_body,
    group,
    json_error,
    parse_json_object,
    single_headers,
    status_of,
    typed,
)
from .headers import forwarded_headers, lower_joined


def _cookies(req: Inbound) -> list[str]:
    out: list[str] = []
    for name, value in req.headers:
        if name.lower() == "cookie":
            out += [c.strip() for c in value.split(";") if c.strip()]
    return out


class _V2:
    name = ""
    # An answer without a Content-Type: application/json, as AWS SAM CLI's HTTP API emulator models it
    # (samcli/local/apigw/local_apigw_service.py, _parse_v2_payload_format_lambda_output); AWS's docs give that
    # type to a result without statusCode (HTTP API "Lambda function response format", Function URL
    # "Response payload format") and are silent on one with statusCode and no headers.
    untyped = "application/json"
    untyped_stream: str | None = None
    max_request_body = 6 * MB
    max_result = 6 * MB
    integration_timeout: float | None = None
    streams = False
    stream_duration: float | None = None
    stream_idle_timeout: float | None = None
    stream_throttle: tuple[int, int] | None = None
    decode_raw_path = False
    keep_cookie_header = True

    def build_event(self, req: Inbound, ctx: Context) -> JsonDict:
        drop = () if self.keep_cookie_header else ("cookie",)
        headers = forwarded_headers(req, ctx, drop=drop)
        if req.body and req.header("content-length") is None:
            headers.append(("content-length", str(len(req.body))))  # a chunked upload arrives sized
        host = ctx.host.split(":", 1)[0]
        path = decoded_path(req.raw_path)
        event: JsonDict = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path if self.decode_raw_path else req.raw_path,
            "rawQueryString": req.raw_query,
        }
        cookies = _cookies(req)
        if cookies:
            event["cookies"] = cookies
        event["headers"] = lower_joined(headers)
        query = group(decoded_query(req.raw_query))
        if query:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
        event["requestContext"] = self._context(req, ctx, host, path)
        if req.body:
            event["body"], event["isBase64Encoded"] = encode_body(req.body, req.header("content-type"))
        else:
            event["isBase64Encoded"] = False
        return event

    def _context(self, req: Inbound, ctx: Context, host: str, path: str) -> JsonDict:
        return {
            "accountId": ctx.account_id,
            "apiId": ctx.api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": req.method,
                "path": path,
                "protocol": req.protocol,
                "sourceIp": req.source_ip,
                "userAgent": req.header("user-agent") or "",
            },
            "requestId": ctx.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": aws_time(ctx.time_epoch_ms),
            "timeEpoch": ctx.time_epoch_ms,
        }

    def translate_result(self, payload: bytes) -> Outbound:
        try:
            value = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedResult("result is not JSON") from exc
        if not isinstance(value, dict) or "statusCode" not in value:
            # Payload 2.0 rule: valid JSON without statusCode is the body of a 200 JSON answer.
            return Outbound(200, [("Content-Type", "application/json")], payload)
        result = parse_json_object(payload)
        headers = single_headers(result.get("headers"))
        cookies = result.get("cookies") or []
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            raise MalformedResult("cookies must be a list of strings")
        headers += [("Set-Cookie", c) for c in cookies]
        return Outbound(status_of(result), typed(headers, self.untyped), decode_result_body(result))

    def translate_prelude(self, prelude: JsonDict) -> Prelude:
        out = rest_prelude(prelude)
        return Prelude(out.status, typed(out.headers, self.untyped_stream))

    def failure(self, kind: Failure, ctx: Context) -> Outbound:
        raise NotImplementedError


class HttpApi(_V2):
    name = "http-api"
    max_request_body = 10 * MB
    integration_timeout: float | None = 30.0
    decode_raw_path = True
    keep_cookie_header = False

    def failure(self, kind: Failure, ctx: Context) -> Outbound:
        extra = [("Apigw-Requestid", ctx.request_id)]
        if kind is Failure.GATEWAY_TIMEOUT:
            return json_error(503, "Service Unavailable", extra)
        if kind is Failure.REQUEST_TOO_LARGE:
            return json_error(413, "Request Entity Too Large", extra)
        return json_error(500, "Internal Server Error", extra)


_TOO_LARGE = b'{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}'


class FunctionUrl(_V2):
    name = "function-url"
    streams = True
    # Streamed without a Content-Type: application/octet-stream, assumed: what a Function URL was seen answering
    # for a stream the function did not type (honojs/hono#1672, a raw stream of the Node.js runtime, whose untyped
    # default that is); the Lambda docs are silent on a prelude without one.
    untyped_stream: str | None = "application/octet-stream"

    def _context(self, req: Inbound, ctx: Context, host: str, path: str) -> JsonDict:
        context = super()._context(req, ctx, host, path)
        context["accountId"] = "anonymous"  # auth type NONE
        return context

    def failure(self, kind: Failure, ctx: Context) -> Outbound:
        extra = [("x-amzn-RequestId", ctx.request_id), ("X-Amzn-Trace-Id", ctx.trace_id)]
        if kind in (Failure.REQUEST_TOO_LARGE, Failure.EVENT_TOO_LARGE):
            return Outbound(413, [("Content-Type", "application/json"), *extra], _TOO_LARGE)
        if kind is Failure.THROTTLED:
            # Lambda's throttling error is a 429 (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html);
            # a function URL passes it on with this body and error type (a capture in
            # github.com/huntharo/lambda-provisioned-throttling; AWS's pages do not show the body).
            return Outbound(429, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ThrottlingException"),
                                  *extra], b'{"message":"Rate Exceeded."}')
        return Outbound(502, [("Content-Type", "application/json"), *extra], b"Internal Server Error")
