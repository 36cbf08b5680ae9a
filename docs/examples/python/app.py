"""A tiny WSGI app, standard library only: a JSON endpoint and a binary download, on 127.0.0.1:8000."""

import hashlib
import json
import sys
from wsgiref.simple_server import make_server

# 300 000 bytes, every byte value, not UTF-8: it can only travel as base64 in a Lambda result.
BLOB = bytes((i * 7 + 3) % 256 for i in range(300_000))


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/api/info":
        body = json.dumps({
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": environ["QUERY_STRING"],
            "host": environ.get("HTTP_HOST"),
            "forwarded_proto": environ.get("HTTP_X_FORWARDED_PROTO"),
            "blob_sha256": hashlib.sha256(BLOB).hexdigest(),
            "python": sys.version.split()[0],
            "greeting": "grüß dich, λ",
        }, ensure_ascii=False).encode()
        headers = [("Content-Type", "application/json")]
    elif path == "/download/blob.bin":
        body = BLOB
        headers = [("Content-Type", "application/octet-stream"),
                   ("Content-Disposition", 'attachment; filename="blob.bin"')]
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
        return [b"not found\n"]
    start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    with make_server("127.0.0.1", 8000, app) as server:
        server.serve_forever()
