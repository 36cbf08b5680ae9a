"""The Lambda Runtime API client: next, response (buffered or streamed), error, init error.

One persistent connection per worker. `/next` blocks until Lambda has work and must never time out.
"""

from __future__ import annotations

import json

from .http import Headers, field_map
from .http1 import Connection, ResponseHead, header_block, request_head

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .log import Log

API = "/2018-06-01/runtime"


class Invocation:
    __slots__ = ("body", "client_context", "cognito_identity", "deadline_ms", "function_arn", "request_id",
                 "tenant_id", "trace_id")

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str, trace_id: str, client_context: str,
                 cognito_identity: str, tenant_id: str, body: bytes) -> None:
        self.request_id = request_id
        self.deadline_ms = deadline_ms  # epoch milliseconds
        self.function_arn = function_arn
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id
        self.body = body


class RuntimeError_(Exception):
    """The Runtime API refused a call (for example 413: result too large)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"Runtime API answered {status}: {body[:200]!r}")
        self.status = status
        self.body = body


class RuntimeClient:
    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.host = host or "127.0.0.1"
        self.authority = address
        self.conn = Connection(self.host.strip("[]"), int(port))
        # The two GETs never change: written once, not per invocation.
        self.next_head = request_head("GET", f"{API}/invocation/next", [("Host", address)])
        self.restore_head = request_head("GET", f"{API}/restore/next", [("Host", address)])
        self.json_block = header_block([("Host", address), ("Content-Type", "application/json")])

    def _exchange(self, head: bytes, body: bytes = b"", parts: list[bytes] | None = None) -> tuple[ResponseHead, bytes]:
        for attempt in (0, 1):
            conn = self.conn
            if not conn.connected:
                conn.connect()
            try:
                if parts is None:
                    conn.send(head, body)
                else:
                    conn.send_parts([head, *parts])
                response = conn.read_head()
                data = conn.read_body(response)
            except (ConnectionError, OSError):
                conn.close()
                if attempt or not conn.used:
                    raise
                continue  # the API closed an idle keep-alive connection: one fresh try
            conn.used = True
            if not response.keep_alive:
                conn.close()
            return response, data
        raise AssertionError("unreachable")

    def next(self) -> Invocation:
        head, body = self._exchange(self.next_head)
        if head.status != 200:
            raise RuntimeError_(head.status, body)
        fields = field_map(head.headers)
        try:
            deadline = int(fields.get("lambda-runtime-deadline-ms", "0"))
        except ValueError:
            deadline = 0
        return Invocation(
            request_id=fields.get("lambda-runtime-aws-request-id", ""),
            deadline_ms=deadline,
            function_arn=fields.get("lambda-runtime-invoked-function-arn", ""),
            trace_id=fields.get("lambda-runtime-trace-id", ""),
            client_context=fields.get("lambda-runtime-client-context", ""),
            cognito_identity=fields.get("lambda-runtime-cognito-identity", ""),
            tenant_id=fields.get("lambda-runtime-aws-tenant-id", ""),
            body=body,
        )

    def _post(self, path: str, payload: bytes, extra: Headers | None = None,
              content_type: str = "application/json") -> None:
        fields = [("Host", self.authority), ("Content-Type", content_type)]
        head = request_head("POST", f"{API}{path}", fields + extra if extra else fields, len(payload))
        response, body = self._exchange(head, payload)
        if response.status >= 300:
            raise RuntimeError_(response.status, body)

    def respond(self, request_id: str, payload: bytes) -> None:
        self._post(f"/invocation/{request_id}/response", payload)

    def respond_parts(self, request_id: str, parts: list[bytes]) -> None:
        """The result as parts sent in one scatter-gather write: a large body is never joined."""
        size = sum(map(len, parts))
        head = request_head("POST", f"{API}/invocation/{request_id}/response", self.json_block, size)
        response, body = self._exchange(head, parts=parts)
        if response.status >= 300:
            raise RuntimeError_(response.status, body)

    def error(self, request_id: str, error_type: str, message: str) -> None:
        self._post(f"/invocation/{request_id}/error", _error_body(error_type, message),
                   [("Lambda-Runtime-Function-Error-Type", error_type)])

    def phase_error(self, phase: str, error_type: str, message: str, log: Log) -> None:
        """An init or restore failure (POST /runtime/{phase}/error), told to Lambda if it still listens; if not,
        the caller's log line before this one is what remains."""
        try:
            self._post(f"/{phase}/error", _error_body(error_type, message),
                       [("Lambda-Runtime-Function-Error-Type", error_type)])
        except Exception as exc:
            log.error(f"could not report the {phase} error", reason=str(exc))

    def restore_next(self) -> None:
        """SnapStart: blocks while Lambda takes the snapshot; returns in a restored sandbox."""
        head, body = self._exchange(self.restore_head)
        if head.status != 200:
            raise RuntimeError_(head.status, body)

    def stream(self, request_id: str, content_type: str) -> ResponseStream:
        return ResponseStream(self, request_id, content_type)


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": []}).encode()


class ResponseStream:
    """A streamed response: chunked POST, with failures reported in trailers."""

    def __init__(self, client: RuntimeClient, request_id: str, content_type: str) -> None:
        self.client = client
        self.request_id = request_id
        self.content_type = content_type
        self.started = False

    def _start(self) -> None:
        conn = self.client.conn
        if not conn.connected:
            conn.connect()
        head = request_head("POST", f"{API}/invocation/{self.request_id}/response", [
            ("Host", self.client.authority),
            ("Content-Type", self.content_type),
            ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            ("Transfer-Encoding", "chunked"),
            ("Trailer", "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body")])
        try:
            conn.send_raw(head)
        except OSError:
            # A stale keep-alive socket; nothing was accepted yet, so a fresh connection is safe.
            conn.connect()
            conn.send_raw(head)
        self.started = True

    def write(self, data: bytes) -> None:
        if not self.started:
            self._start()
        if data:
            self.client.conn.send_parts([b"%x\r\n" % len(data), data, b"\r\n"])

    def finish(self, error_type: str = "", error_message: str = "") -> None:
        import base64

        if not self.started:
            self._start()
        trailers = b""
        if error_type:
            body = base64.b64encode(_error_body(error_type, error_message))
            trailers = (b"Lambda-Runtime-Function-Error-Type: " + error_type.encode() + b"\r\n"
                        b"Lambda-Runtime-Function-Error-Body: " + body + b"\r\n")
        conn = self.client.conn
        conn.send_raw(b"0\r\n" + trailers + b"\r\n")
        response = conn.read_head()
        conn.read_body(response)
        conn.used = True
        if not response.keep_alive:
            conn.close()
        if response.status >= 300:
            raise RuntimeError_(response.status, b"")
