"""A throwaway stand-in for reweb, only to check the benchmark itself (`python3 bench/run.py --adapter fake`).

It understands the same environment as reweb (REWEB_APPLICATION_EXEC, REWEB_APPLICATION_PORT,
REWEB_INVOKE_MODE, AWS_LAMBDA_MAX_CONCURRENCY) but translates events crudely with http.client.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PORT = int(os.environ.get("REWEB_APPLICATION_PORT", "8080"))
STREAM = os.environ.get("REWEB_INVOKE_MODE", "buffered") == "response_stream"


def wait_ready(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=0.1):
                return
        except OSError:
            time.sleep(0.01)
    sys.exit("app not ready")


def to_request(event: dict[str, Any]) -> tuple[str, str, bytes, dict[str, str]]:
    method = event.get("httpMethod") or event.get("method") or event.get("requestContext", {}).get(
        "http", {}).get("method") or "POST"
    path = event.get("rawPath") or event.get("path") or event.get("raw_path") or "/events"
    query = event.get("rawQueryString") or urlencode(
        event.get("queryStringParameters") or event.get("query_string_parameters") or {})
    body = event.get("body") or ""
    data = base64.b64decode(body) if event.get("isBase64Encoded") or event.get("is_base64_encoded") else body.encode()
    if "Records" in event:
        data = json.dumps(event).encode()
    return method, f"{path}?{query}" if query else path, data, {"Content-Length": str(len(data))}


def worker() -> None:
    runtime = http.client.HTTPConnection(API)
    app = http.client.HTTPConnection("127.0.0.1", PORT)
    while True:
        runtime.request("GET", "/2018-06-01/runtime/invocation/next")
        nxt = runtime.getresponse()
        event = json.loads(nxt.read())
        request_id = nxt.getheader("Lambda-Runtime-Aws-Request-Id")
        method, target, data, headers = to_request(event)
        app.request(method, target, data, headers)
        answer = app.getresponse()
        url = f"/2018-06-01/runtime/invocation/{request_id}/response"
        if STREAM:
            prelude = json.dumps({"statusCode": answer.status, "headers": {}}).encode() + b"\0" * 8
            chunks = iter(functools.partial(answer.read1, 65536), b"")
            runtime.request("POST", url, encode_chunked=True, body=_chain(prelude, chunks), headers={
                "Lambda-Runtime-Function-Response-Mode": "streaming", "Transfer-Encoding": "chunked"})
        else:
            payload = answer.read()
            text, is_b64 = (payload.decode(), False) if b"text" in (answer.getheader("Content-Type") or "").encode() \
                else (base64.b64encode(payload).decode(), True)
            result = json.dumps({"statusCode": answer.status, "body": text, "isBase64Encoded": is_b64}).encode()
            runtime.request("POST", url, result)
        runtime.getresponse().read()


def _chain(first: bytes, rest: Any) -> Any:
    yield first
    yield from rest


def main() -> None:
    command = os.environ["REWEB_APPLICATION_EXEC"]
    child = subprocess.Popen(["/bin/sh", "-c", command])
    wait_ready(time.monotonic() + 10)
    workers = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1"))
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        threads[0].join()
    finally:
        child.terminate()


if __name__ == "__main__":
    main()
