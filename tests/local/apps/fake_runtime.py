"""A stand-in Lambda runtime for testing the emulator itself, independent of reweb's adapter.

Behaviour is chosen by the request path found in the event (any event kind):
  /echo          200 with the event as the JSON body (buffered; works for every source)
  /malformed     a result that is not JSON
  /error         POST /error
  /crash         exit(1) mid-invocation
  /sleep/S       sleep S seconds, then /echo
  /big/N         a text body of N bytes
  /stream        streamed answer: prelude, "first", wait for /tmp file or 2 s, "second"
  /stream-fail   streamed answer that fails mid-stream (error trailers)
  /stream-sized  streamed answer with a Content-Length: prelude, "whole"; the terminating chunk only once the
                 /tmp file exists (or after 5 s): the client has the whole answer while the stream is still open
  /hold-next     200 as /echo, then the next /next only once the FAKE_GATE file exists (or after 60 s): the client
                 has its answer while the instance has not asked for more (its Invoke phase not over)
  /exit-after-answer  200 as /echo, then exit(3) before the next /next (a crash after the answer)
  /ticks         a background thread counts ticks; answer how many since the last call
  /init-fail     (as env FAKE_INIT=fail) POST /runtime/init/error and exit
Env FAKE_INIT=slow:S sleeps S seconds before the first /next.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import threading
import time
import urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = f"http://{API}/2018-06-01/runtime"

ticks = 0


def ticker() -> None:
    global ticks
    while True:
        time.sleep(0.01)
        ticks += 1


def post(path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
    req = urllib.request.Request(BASE + path, data=body, method="POST", headers=headers or {})
    with urllib.request.urlopen(req) as resp:
        resp.read()


def wait_for(gate: str, within: float = 5.0) -> None:
    deadline = time.time() + within
    while not os.path.exists(gate) and time.time() < deadline:
        time.sleep(0.01)


def stream(request_id: str, prelude: dict[str, object], parts: list[bytes], fail: bool, gate: str,
           hold: bool = False) -> None:
    host, port = API.split(":")
    sock = socket.create_connection((host, int(port)))
    head = (
        f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n"
        f"Host: {API}\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n"
        "Content-Type: application/vnd.awslambda.http-integration-response\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
    )
    sock.sendall(head.encode())

    def chunk(data: bytes) -> None:
        sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    chunk(json.dumps(prelude).encode() + b"\0" * 8)
    for i, part in enumerate(parts):
        if i:
            wait_for(gate)  # the test lets the second part go only after it has seen the first one
        chunk(part)
    if hold:
        wait_for(gate)  # the end of the stream only when the test says so
    if fail:
        body = base64.b64encode(b'{"errorMessage":"boom","errorType":"Boom"}').decode()
        sock.sendall(b"0\r\nLambda-Runtime-Function-Error-Type: Boom\r\n"
                     + f"Lambda-Runtime-Function-Error-Body: {body}\r\n\r\n".encode())
    else:
        sock.sendall(b"0\r\n\r\n")
    sock.recv(65536)
    sock.close()


def path_of(event: dict[str, object]) -> str:
    for key in ("rawPath", "path", "raw_path"):
        value = event.get(key)
        if isinstance(value, str):
            return value
    return "/"


def main() -> None:
    init = os.environ.get("FAKE_INIT", "")
    if init == "fail":
        post("/init/error", b'{"errorMessage":"no","errorType":"InitBoom"}',
             {"Lambda-Runtime-Function-Error-Type": "InitBoom"})
        sys.exit(1)
    if init.startswith("slow:"):
        time.sleep(float(init[5:]))
    threading.Thread(target=ticker, daemon=True).start()
    last_ticks = 0
    while True:
        with urllib.request.urlopen(BASE + "/invocation/next") as resp:
            request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(resp.read())
        path = path_of(event)
        answer: dict[str, object] = {"statusCode": 200, "headers": {"content-type": "application/json"},
                                     "body": json.dumps(event)}
        if path == "/malformed":
            post(f"/invocation/{request_id}/response", b"not json at all")
            continue
        if path == "/error":
            post(f"/invocation/{request_id}/error", b'{"errorMessage":"bad","errorType":"Bad"}',
                 {"Lambda-Runtime-Function-Error-Type": "Bad"})
            continue
        if path == "/crash":
            os._exit(1)
        if path.startswith("/sleep/"):
            time.sleep(float(path.split("/")[2]))
        if path.startswith("/alloc/"):  # hold N MiB of touched memory for a few seconds, then answer
            hog = bytearray(int(path.split("/")[2]) << 20)
            for offset in range(0, len(hog), 4096):
                hog[offset] = 1
            time.sleep(3)
            del hog
        if path.startswith("/big/"):
            answer = {"statusCode": 200, "headers": {"content-type": "text/plain"},
                      "body": "x" * int(path.split("/")[2])}
        if path == "/ticks":
            answer = {"statusCode": 200, "headers": {"content-type": "text/plain"},
                      "body": str(ticks - last_ticks)}
            last_ticks = ticks
        if path in ("/stream", "/stream-fail"):
            gate = os.environ.get("FAKE_GATE", "/nonexistent")
            stream(request_id, {"statusCode": 201, "headers": {"x-kind": "stream"}, "cookies": ["a=1", "b=2"]},
                   [b"first", b"second"], path == "/stream-fail", gate)
            continue
        if path == "/stream-sized":
            gate = os.environ.get("FAKE_GATE", "/nonexistent")
            stream(request_id, {"statusCode": 200, "headers": {"content-type": "text/plain", "content-length": "5"}},
                   [b"whole"], False, gate, hold=True)
            continue
        post(f"/invocation/{request_id}/response", json.dumps(answer).encode())
        if path == "/exit-after-answer":
            os._exit(3)
        if path == "/hold-next":
            wait_for(os.environ.get("FAKE_GATE", "/nonexistent"), 60.0)  # answered; /next when the test says so


if __name__ == "__main__":
    main()
