"""VPC Lattice, event structure 2.0 (`lattice`): camelCase keys, header and query values as lists,
`timeEpoch` a microseconds string. The answer has the ALB shape (statusCode, statusDescription, headers).
All fixtures for Lattice are docs-derived, and so is this module.
"""

from __future__ import annotations

from .alb import Alb
from .base import MB, Context, Failure, Inbound, JsonDict, Outbound, decoded_query, encode_body, group
from .headers import forwarded_headers, lower_lists


class Lattice(Alb):
    # Nothing: Lattice's docs are silent, no emulator models it and no capture shows it, so the emulator adds no
    # Content-Type the app did not send.
    untyped = None
    # VPC Lattice allows 6 MB requests and responses for Lambda targets (AWS's Lattice documentation), not
    # ALB's 1 MB; above that, Lambda's own 6 MB invoke limits apply anyway.
    max_request_body = 6 * MB
    max_result = 6 * MB

    def __init__(self) -> None:
        super().__init__(multi=False)
        self.name = "lattice"

    def build_event(self, req: Inbound, ctx: Context) -> JsonDict:
        arn = f"arn:aws:vpc-lattice:{ctx.region}:{ctx.account_id}"
        body, is_b64 = encode_body(req.body, req.header("content-type")) if req.body else ("", False)
        return {
            "version": "2.0",
            "path": req.raw_path,
            "method": req.method,
            "headers": lower_lists(forwarded_headers(req, ctx)),
            "queryStringParameters": group(decoded_query(req.raw_query)),
            "body": body,
            "isBase64Encoded": is_b64,
            "requestContext": {
                "serviceNetworkArn": f"{arn}:servicenetwork/sn-0123456789abcdef0",
                "serviceArn": f"{arn}:service/svc-0123456789abcdef0",
                "targetGroupArn": f"{arn}:targetgroup/tg-0123456789abcdef0",
                "identity": {"sourceVpcArn": f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:vpc/vpc-0123456789abcdef0",
                             "type": "NONE"},
                "region": ctx.region,
                "timeEpoch": str(ctx.time_epoch_ms * 1000),
            },
        }

    def failure(self, kind: Failure, ctx: Context) -> Outbound:
        status = {Failure.REQUEST_TOO_LARGE: 413, Failure.GATEWAY_TIMEOUT: 504}.get(kind, 502)
        return Outbound(status, [("Content-Type", "text/plain")], b"")
