"""A reference point, not an adapter: the least work a Python runtime loop can do per invocation.

Raw sockets, one buffer per connection, HTTP API v2 events only, no validation, no rewrites, no deadlines.
`python3 bench/run.py --adapter lean --sections sizes` shows what Python itself costs, so reweb's numbers can
be read as "framework overhead above the floor of the language". Never use it for anything else.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PORT = int(os.environ["REWEB_APPLICATION_PORT"])
_CONTROL = bytes(range(32))
_ESCAPES = ((b"\\", b"\\\\"), (b'"', b'\\"'), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t"))
NEXT = f"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {API}\r\n\r\n".encode()


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def exchange(self, parts: list[bytes]) -> tuple[bytes, bytes]:
        """Send a request; return (lower-cased head, body). Content-Length framing only."""
        self.sock.sendmsg(parts)
        buf = self.buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self.sock.recv(262144)
        head = buf[:end].lower()
        at = head.find(b"content-length:")
        line_end = head.find(b"\r\n", at)
        length = int(head[at + 15:line_end if line_end > 0 else len(head)]) if at >= 0 else 0
        body_end = end + 4 + length
        if len(buf) < body_end:
            chunks = [buf]
            have = len(buf)
            while have < body_end:
                data = self.sock.recv(max(body_end - have, 262144))
                chunks.append(data)
                have += len(data)
            buf = b"".join(chunks)
        self.buf = buf[body_end:]
        return head, buf[end + 4:body_end]


def json_text(data: bytes) -> bytes | None:
    """UTF-8 bytes -> the inside of a JSON string, escaped on bytes (no str round trip); None if not UTF-8
    or if it holds a rare control character (then json.dumps does it)."""
    try:
        data.decode()
    except UnicodeDecodeError:
        return None
    for raw, escaped in _ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    if len(data.translate(None, _CONTROL)) != len(data):
        return None
    return data


def main() -> None:
    subprocess.Popen(["/bin/sh", "-c", os.environ["REWEB_APPLICATION_EXEC"]])
    while True:
        try:
            app = Conn("127.0.0.1", PORT)
            break
        except OSError:
            time.sleep(0.005)
    host, port = API.split(":")
    runtime = Conn(host, int(port))
    while True:
        head, payload = runtime.exchange([NEXT])
        at = head.find(b"lambda-runtime-aws-request-id:")
        request_id = head[at + 30:head.find(b"\r\n", at)].strip().decode()
        event = json.loads(payload)
        body = event.get("body", "")
        data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
        target = event["rawPath"] + ("?" + event["rawQueryString"] if event["rawQueryString"] else "")
        method = event["requestContext"]["http"]["method"]
        lines = "".join(f"{k}: {v}\r\n" for k, v in event["headers"].items() if k != "content-length")
        request = f"{method} {target} HTTP/1.1\r\n{lines}Content-Length: {len(data)}\r\n\r\n".encode()
        answer_head, answer = app.exchange([request, data])
        ctype = answer_head[answer_head.find(b"content-type:") + 13:].split(b"\r\n", 1)[0].strip().decode()
        escaped = json_text(answer) if ctype.startswith("text/") else None
        is_b64 = escaped is None
        body_part = base64.b64encode(answer) if escaped is None else escaped
        prefix = json.dumps({"statusCode": 200, "headers": {"content-type": ctype}})[:-1].encode()
        parts = [prefix + b',"body":"', body_part, b'","isBase64Encoded":' + (b"true}" if is_b64 else b"false}")]
        size = sum(map(len, parts))
        runtime.exchange([f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {API}\r\n"
                          f"Content-Length: {size}\r\n\r\n".encode(), *parts])


if __name__ == "__main__":
    main()
