"""What the offload tests share (tests/integration/test_offload*.py, test_tls.py): the app that answers N MB of
seeded bytes, the bytes it sends, the credentials and region of the function, a Function URL event."""

from __future__ import annotations

import random
from typing import Any, Final

MB = 1 << 20
REGION: Final = "eu-west-1"  # Final: typed as the Literal, which boto3's stubs take as a LocationConstraint
KEYS = {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret-key-for-moto",
        "AWS_SESSION_TOKEN": "session-token-of-the-function", "AWS_REGION": REGION}

# /bytes?mb=N[&chunked=1]: N MB of seeded random bytes, with the headers a download has; any POST answers the
# same (an export). /text?kb=N: text. Two Set-Cookie lines on every answer.
APP = """import http.server, random, sys, urllib.parse
MB = 1 << 20
def block(i):
    return random.Random(i).randbytes(MB)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/; HttpOnly")
        self.send_header("Set-Cookie", "theme=dark; Path=/")
        if url.path in ("/", "/text"):
            body = ("line of text \\u00e4\\u00f6\\u00fc\\n" * 64 * int(q.get("kb", 1))).encode()
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        n = float(q["mb"])
        self.send_header("Content-Type", "application/x-tar")
        self.send_header("Content-Disposition", "attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe.tar")
        self.send_header("Cache-Control", "private, max-age=60")
        if q.get("gzip"):
            self.send_header("Content-Encoding", "gzip")
        size = int(n * MB)
        if q.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        sent, i = 0, 0
        while sent < size:
            piece = block(i)[:size - sent]
            if q.get("chunked"):
                self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
            sent += len(piece)
            i += 1
        if q.get("chunked"):
            self.wfile.write(b"0\\r\\n\\r\\n")
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def expected(mb: float) -> bytes:
    size, out, i = int(mb * MB), bytearray(), 0
    while len(out) < size:
        out += random.Random(i).randbytes(MB)[:size - len(out)]
        i += 1
    return bytes(out)


def http_event(path: str, query: str = "", method: str = "GET", body: str = "") -> dict[str, Any]:
    return {"version": "2.0", "rawPath": path, "rawQueryString": query,
            "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", "x-forwarded-proto": "https"},
            "requestContext": {"http": {"method": method, "path": path}, "stage": "$default",
                               "domainName": "abc.lambda-url.eu-west-1.on.aws"},
            "body": body, "isBase64Encoded": False}
