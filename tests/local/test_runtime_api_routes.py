"""The Runtime API's request handling, in process and without a socket: each request is parsed from bytes
(http11.read_request over a fed StreamReader) and routed against a stand-in for the instance it serves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from reweb.local import http11
from reweb.local.runtime_api import (
    BUFFERED_LIMIT,
    Buffered,
    Errored,
    Invocation,
    Outcome,
    RuntimeApi,
    Streamed,
    StreamEnd,
)

PORT = 9001
HOST = f"127.0.0.1:{PORT}"
RID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"


class Instance:
    """What RuntimeApi needs from an instance, recording what it is told."""

    def __init__(self, inv: Invocation | None, oom: bool = False, snapstart: bool = False) -> None:
        self.inv = inv
        self.oom = oom
        self.snapstart = snapstart
        self.extension_registered = False
        self.told: list[tuple[str, str]] = []

    async def next_invocation(self) -> Invocation:
        assert self.inv is not None
        return self.inv

    def current(self) -> Invocation | None:
        return self.inv

    def init_failed(self, error_type: str) -> None:
        self.told.append(("init_failed", error_type))

    async def restore_next(self) -> bool:
        return self.snapstart

    def restore_failed(self, error_type: str) -> None:
        self.told.append(("restore_failed", error_type))

    def out_of_memory(self) -> bool:
        return self.oom


def request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
            host: str = HOST) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    if "Transfer-Encoding" not in (headers or {}):
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def route(api: RuntimeApi, raw: bytes) -> tuple[int, bytes, http11.Headers]:
    reader = asyncio.StreamReader()
    reader.feed_data(raw)
    reader.feed_eof()
    req = await http11.read_request(reader)
    assert req is not None
    return await api._route(req)


Scenario = Callable[[RuntimeApi, Instance, Invocation], Awaitable[None]]


def run(scenario: Scenario, **instance: Any) -> list[str]:
    """Run `scenario` with an API on PORT serving an instance whose current invocation is RID; the notes made."""
    notes: list[str] = []

    async def main() -> None:
        inv = Invocation(RID, b'{"k":1}', 1_700_000_000_000, "Root=1-0-0", "arn:aws:lambda:us-east-1:0:function:f")
        sandbox = Instance(inv, **instance)
        api = RuntimeApi(sandbox, notes.append)
        api.port = PORT
        await scenario(api, sandbox, inv)

    asyncio.run(main())
    return notes


def error_of(answer: tuple[int, bytes, http11.Headers]) -> tuple[int, str]:
    return answer[0], json.loads(answer[1])["errorType"]


def outcome(inv: Invocation) -> Outcome:
    assert inv.outcome.done()
    return inv.outcome.result()


def test_next_hands_over_the_event_with_lambdas_headers() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        status, body, headers = await route(api, request("GET", "/2018-06-01/runtime/invocation/next"))
        assert (status, body) == (200, b'{"k":1}')
        assert dict(headers) == {
            "Content-Type": "application/json", "Lambda-Runtime-Aws-Request-Id": RID,
            "Lambda-Runtime-Deadline-Ms": "1700000000000",
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:0:function:f",
            "Lambda-Runtime-Trace-Id": "Root=1-0-0",
        }
        assert error_of(await route(api, request("POST", "/2018-06-01/runtime/invocation/next"))) == (
            405, "MethodNotAllowed")

    run(scenario)


def test_only_its_own_host_is_served_and_the_refusal_is_noted_once() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        for host in ("evil.example:9001", "127.0.0.1:9002", "127.0.0.1"):
            answer = await route(api, request("GET", "/2018-06-01/runtime/invocation/next", host=host))
            assert error_of(answer) == (403, "Forbidden"), host
        assert not inv.outcome.done()
        assert (await route(api, request("GET", "/2018-06-01/runtime/invocation/next",
                                          host=f"localhost:{PORT}")))[0] == 200

    notes = run(scenario)
    assert notes == ["Runtime API refused (403) to Host ['evil.example:9001']: only 127.0.0.1:9001 is served"]


def test_a_buffered_response_settles_the_invocation() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        status, _body, _ = await route(api, request("POST", f"/2018-06-01/runtime/invocation/{RID}/response",
                                                    b'{"statusCode":200}'))
        assert status == 202 and outcome(inv) == Buffered(b'{"statusCode":200}') and inv.finished.is_set()
        # Answered already: a second answer is for no invocation in progress.
        again = await route(api, request("POST", f"/2018-06-01/runtime/invocation/{RID}/response", b"{}"))
        assert error_of(again) == (400, "InvalidRequestID")

    run(scenario)


def test_an_answer_for_another_request_id_is_refused() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        answer = await route(api, request("POST", "/2018-06-01/runtime/invocation/other-id/response", b"{}"))
        assert error_of(answer) == (400, "InvalidRequestID") and not inv.outcome.done()

    run(scenario)


def test_a_response_over_6_mb_is_function_response_size_too_large() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        body = b"x" * (BUFFERED_LIMIT + 1)
        answer = await route(api, request("POST", f"/2018-06-01/runtime/invocation/{RID}/response", body))
        assert error_of(answer) == (413, "RequestEntityTooLarge")
        assert outcome(inv) == Errored("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum "
                                       "allowed")

    run(scenario)


def test_an_error_keeps_its_type_and_message() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        body = json.dumps({"errorMessage": "boom", "errorType": "ValueError"}).encode()
        status, _body, _ = await route(api, request(
            "POST", f"/2018-06-01/runtime/invocation/{RID}/error", body,
            {"Lambda-Runtime-Function-Error-Type": "Runtime.ValueError"}))
        assert status == 202 and outcome(inv) == Errored("Runtime.ValueError", "boom")

    run(scenario)


def test_an_error_without_a_type_or_json_is_unhandled() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        await route(api, request("POST", f"/2018-06-01/runtime/invocation/{RID}/error", b"not json"))
        assert outcome(inv) == Errored("Unhandled", "")

    run(scenario)


def test_an_answer_after_the_kernel_killed_part_of_the_instance_is_out_of_memory() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        status, _body, _ = await route(api, request("POST", f"/2018-06-01/runtime/invocation/{RID}/response", b"{}"))
        assert status == 202
        assert outcome(inv) == Errored("Runtime.OutOfMemory", "Runtime exited with error: signal: killed")

    run(scenario, oom=True)


def test_a_streamed_response_is_its_chunks_then_the_trailers_end() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, inv: Invocation) -> None:
        body = (b"5\r\nhello\r\n6\r\n world\r\n0\r\n"
                b"Lambda-Runtime-Function-Error-Type: Runtime.Cut\r\n"
                b"Lambda-Runtime-Function-Error-Body: eA==\r\n\r\n")
        status, _body, _ = await route(api, request(
            "POST", f"/2018-06-01/runtime/invocation/{RID}/response", body,
            {"Transfer-Encoding": "chunked", "Lambda-Runtime-Function-Response-Mode": "streaming",
             "Content-Type": "text/plain", "Trailer": "Lambda-Runtime-Function-Error-Type"}))
        assert status == 202 and inv.finished.is_set()
        stream = outcome(inv)
        assert isinstance(stream, Streamed) and stream.content_type == "text/plain"
        got = [stream.chunks.get_nowait() for _ in range(stream.chunks.qsize())]
        assert got == [b"hello", b" world", StreamEnd("Runtime.Cut", "eA==")]

    run(scenario)


def test_init_and_restore_errors_reach_the_instance() -> None:
    async def scenario(api: RuntimeApi, sandbox: Instance, _inv: Invocation) -> None:
        for path, header in (("/2018-06-01/runtime/init/error", {"Lambda-Runtime-Function-Error-Type": "Oops"}),
                             ("/2018-06-01/runtime/restore/error", {})):
            status, body, _ = await route(api, request("POST", path, b'{"errorMessage":"x"}', header))
            assert (status, body) == (202, b'{"status":"OK"}')
        assert sandbox.told == [("init_failed", "Oops"), ("restore_failed", "Runtime.Unknown")]

    run(scenario)


def test_restore_next_exists_only_for_a_snapstart_instance() -> None:
    async def without(api: RuntimeApi, _sandbox: Instance, _inv: Invocation) -> None:
        assert error_of(await route(api, request("GET", "/2018-06-01/runtime/restore/next"))) == (404, "UnknownPath")

    async def with_it(api: RuntimeApi, _sandbox: Instance, _inv: Invocation) -> None:
        assert (await route(api, request("GET", "/2018-06-01/runtime/restore/next")))[0] == 200

    run(without)
    run(with_it, snapstart=True)


def test_an_extension_registers_and_unknown_paths_are_404() -> None:
    async def scenario(api: RuntimeApi, sandbox: Instance, _inv: Invocation) -> None:
        status, _body, headers = await route(api, request("POST", "/2020-01-01/extension/register", b"{}"))
        assert status == 200 and sandbox.extension_registered
        assert ("Lambda-Extension-Identifier", "reweb-local-extension") in headers
        for path in ("/2020-01-01/extension/nope", "/2018-06-01/runtime/nope", "/elsewhere",
                     f"/2018-06-01/runtime/invocation/{RID}/nope"):
            assert error_of(await route(api, request("POST", path)))[0] == 404, path

    run(scenario)


class Wire:
    """The writing half of a connection: what was written, and whether it was closed."""

    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_a_malformed_request_gets_400_and_a_note_then_the_connection_closes() -> None:
    async def scenario(api: RuntimeApi, _sandbox: Instance, _inv: Invocation) -> None:
        for raw in (b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
                    + b"".join(b"X-%d: 1\r\n" % i for i in range(500)) + b"\r\n",   # too many headers
                    b"POST /x HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
            reader, wire = asyncio.StreamReader(), Wire()
            reader.feed_data(raw)
            reader.feed_eof()
            await api._connection(reader, wire)  # type: ignore[arg-type]
            assert wire.data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), wire.data[:200]
            assert b"Connection: close" in wire.data and wire.closed
            assert json.loads(wire.data.split(b"\r\n\r\n", 1)[1])["errorType"] == "InvalidRequest"

    notes = run(scenario)
    assert len(notes) == 2 and all("not HTTP/1.1" in note and "400" in note for note in notes), notes
