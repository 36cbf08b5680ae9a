"""The pure stages of one invocation, timed in-process (no sockets): what each costs in microseconds.

Uses reweb's own functions on the benchmark's events, so the numbers say where user-space CPU goes without a
profiler's distortion. The stages are looked up by name: one that the adapter renamed shows as missing."""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from typing import Any

from events import Case
from payloads import text_body
from report import Report, Table, fmt

_APP_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 1024\r\n"
             b"Date: Thu, 26 Nov 2026 23:00:00 GMT\r\nServer: bench\r\n\r\n")


def _best(fn: Callable[[], object], budget_s: float = 0.3) -> float:
    """Best per-call time in microseconds over batches within the budget."""
    fn()
    batch, best = 1, float("inf")
    deadline = time.perf_counter() + budget_s
    while time.perf_counter() < deadline:
        start = time.process_time()
        for _ in range(batch):
            fn()
        elapsed = time.process_time() - start
        if elapsed < 0.002:
            batch *= 4
            continue
        best = min(best, elapsed / batch)
    return best * 1e6


def _get(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name, None)


def stage_times(case: Case) -> list[tuple[str, float]]:
    """(stage, microseconds) for one invocation of the case, in the order the adapter runs them."""
    events = importlib.import_module("reweb.events")
    payload = case.event()
    event = json.loads(payload)
    kind = events.detect(event)
    request = kind.decode(event)
    loads_with_raw = _get("reweb.jsonenc", "loads_with_raw")  # the adapter's decode (and the context's text)
    context_json = None
    if loads_with_raw is not None:
        decode_stage = ("jsonenc.loads_with_raw(event)", _best(lambda: loads_with_raw(payload, "requestContext")))
        context_json = loads_with_raw(payload, "requestContext")[1]
    else:
        decode_stage = ("json.loads(event)", _best(lambda: json.loads(payload)))
    out: list[tuple[str, float]] = [
        decode_stage,
        ("events.detect", _best(lambda: events.detect(event))),
        (f"{kind.name} decode -> HttpRequest", _best(lambda: kind.decode(event))),
    ]
    prepare = _get("reweb.rewrite", "prepare_request")
    if prepare is not None:
        context = event.get("requestContext")
        extra = {} if context_json is None else {"request_context_json": context_json}
        out.append(("rewrite.prepare_request", _best(lambda: prepare(
            request, request_context=context, lambda_ctx="{}", trace_id="Root=1-x", authorization_source="",
            base_path="", **extra))))
    serialize = _get("reweb.upstream", "serialize_head")
    if serialize is not None:
        out.append(("upstream.serialize_head", _best(lambda: serialize(request))))
    parse = _get("reweb.http1", "parse_response_head")
    if parse is not None:
        head = _APP_HEAD.removesuffix(b"\r\n")  # the lines up to the blank line, each with its CRLF
        out.append(("http1.parse_response_head (app's answer)", _best(lambda: parse(head, False))))
    http = importlib.import_module("reweb.http")
    response = http.HttpResponse(200, [("Content-Type", "text/html; charset=utf-8"),
                                       ("Content-Length", str(case.response_size))], text_body(case.response_size))
    encode = getattr(kind, "encode", None)
    encode_json = _get("reweb.adapter", "encode_json")
    if encode is not None and encode_json is not None:
        try:
            result = encode(response)
            out.append((f"{kind.name} encode -> dict", _best(lambda: encode(response))))
            out.append(("adapter.encode_json (result -> bytes)", _best(lambda: encode_json(result))))
        except TypeError:
            pass
    return out


def stages(adapter: str, quick: bool, report: Report) -> None:
    # 1 KB only: for big bodies the adapter no longer goes through encode_json (it splices the body in).
    for label, case in (("1 KB text response", Case()),):
        table = Table(f"Pure stages in-process: {label} (best per call)", ["stage", "us"])
        try:
            rows = stage_times(case)
        except Exception as exc:  # the adapter's internals moved: say so, keep the other sections
            table.notes.append(f"could not time the stages: {type(exc).__name__}: {exc}")
            rows = []
        for name, micros in rows:
            table.add(name, fmt(micros, 1))
        if rows:
            table.notes.append(f"sum: {sum(m for _, m in rows):,.1f} us; the rest of the adapter's CPU is sockets, "
                               "HTTP framing and the loop")
        report.show(table)
