"""Application Load Balancer with a Lambda target group (`alb`, and `alb-multi` with multi-value headers).

Facts reproduced: path and query are passed exactly as the client sent them, NOT decoded; single-value
mode keeps the last of repeated keys and headers; multi-value mode is all or nothing (only the
multiValue* maps, in the event and in the answer); body is "" without one; 1 MB request and response
limits; its own HTML error pages with `Server: awselb/2.0`; `statusDescription` becomes the reason phrase.
"""

from __future__ import annotations

from .base import (
    MB,
    Context,
    Failure,
    Inbound,
    JsonDict,
    MalformedResult,
    Outbound,
    Prelude,
    decode_result_body,
    encode_body,
    group,
    multi_headers,
    parse_json_object,
    single_headers,
    split_query,
    status_of,
    typed,
)
from .headers import forwarded_headers, lower_lists

TARGET_GROUP = "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/reweb-local/0123456789abcdef"

_REASONS = {413: "Request Entity Too Large", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}


def error_page(status: int) -> Outbound:
    title = f"{status} {_REASONS[status]}"
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return Outbound(status, [("Server", "awselb/2.0"), ("Content-Type", "text/html")], body.encode())


class Alb:
    # An answer without a Content-Type leaves ALB labelled application/octet-stream (seen by users whose headers
    # ALB dropped: aws/serverless-java-container#347, CodeGenieApp/serverless-express#435); ALB's docs are silent.
    untyped: str | None = "application/octet-stream"
    max_request_body = 1 * MB
    max_result = 1 * MB
    integration_timeout: float | None = None
    streams = False
    stream_duration: float | None = None
    stream_idle_timeout: float | None = None
    stream_throttle: tuple[int, int] | None = None

    def __init__(self, multi: bool) -> None:
        self.multi = multi
        self.name = "alb-multi" if multi else "alb"

    def build_event(self, req: Inbound, ctx: Context) -> JsonDict:
        headers = lower_lists(forwarded_headers(req, ctx))
        query = group(split_query(req.raw_query))  # undecoded, as ALB does
        event: JsonDict = {
            "requestContext": {
                "elb": {"targetGroupArn": TARGET_GROUP.format(region=ctx.region, account=ctx.account_id)}
            },
            "httpMethod": req.method,
            "path": req.raw_path,
        }
        if self.multi:
            event["multiValueQueryStringParameters"] = query
            event["multiValueHeaders"] = headers
        else:
            event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
            event["headers"] = {k: v[-1] for k, v in headers.items()}
        body, is_b64 = encode_body(req.body, req.header("content-type")) if req.body else ("", False)
        event["body"] = body
        event["isBase64Encoded"] = is_b64
        return event

    def translate_result(self, payload: bytes) -> Outbound:
        result = parse_json_object(payload)
        status = status_of(result)
        reason = result.get("statusDescription")
        if reason is not None and not isinstance(reason, str):
            raise MalformedResult("statusDescription must be a string")
        if reason:
            # "200 OK" -> "OK"; ALB puts the text after the code on the status line.
            code, _, text = reason.partition(" ")
            reason = text if code.isdigit() else reason
        if self.multi:
            headers = multi_headers(result.get("multiValueHeaders"))
        else:
            headers = single_headers(result.get("headers"))
        return Outbound(status, typed(headers, self.untyped), decode_result_body(result), reason or None)

    def translate_prelude(self, prelude: JsonDict) -> Prelude:
        raise MalformedResult("ALB cannot carry a streamed response")

    def failure(self, kind: Failure, ctx: Context) -> Outbound:
        if kind is Failure.REQUEST_TOO_LARGE:
            return error_page(413)
        if kind is Failure.GATEWAY_TIMEOUT:
            return error_page(504)
        if kind is Failure.THROTTLED:  # assumed, not found in AWS's pages: ALB's answer when no target can take it
            return error_page(503)
        return error_page(502)
