"""The headers every emulated gateway sends on: the client's own minus hop-by-hop, plus X-Forwarded-*."""

from __future__ import annotations

from .base import Context, Headers, Inbound

# Never forwarded by a proxy (RFC 9110 7.6.1); AWS front doors drop them too.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
_ADDED = frozenset({"x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"})


def forwarded_headers(req: Inbound, ctx: Context, drop: tuple[str, ...] = ()) -> Headers:
    """Client headers in order, then the ones the gateway adds. X-Forwarded-For gets the client appended.

    X-Forwarded-Proto says what the listener speaks: http by default, so that an app building absolute URLs
    from it produces links that work in the browser pointed at it; https with --https, as on AWS, whose HTTP
    front doors are all HTTPS. X-Forwarded-Port is the listener's port, for the same reason.
    """
    out: Headers = []
    client_xff: str | None = None
    for name, value in req.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in drop:
            continue
        if lower == "x-forwarded-for":
            client_xff = value if client_xff is None else f"{client_xff}, {value}"
            continue
        if lower in _ADDED:
            continue  # the gateway's own values replace what a client forged
        out.append((name, value))
    xff = f"{client_xff}, {req.source_ip}" if client_xff else req.source_ip
    out += [
        ("X-Amzn-Trace-Id", ctx.trace_id),
        ("X-Forwarded-For", xff),
        ("X-Forwarded-Port", str(ctx.port)),
        ("X-Forwarded-Proto", ctx.scheme),
    ]
    return out


def lower_joined(headers: Headers) -> dict[str, str]:
    """Lower-case names, repeats comma-joined (HTTP API 2.0, Function URLs, Lattice v1)."""
    out: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        out[lower] = f"{out[lower]},{value}" if lower in out else value
    return out


def lower_lists(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.lower(), []).append(value)
    return out
