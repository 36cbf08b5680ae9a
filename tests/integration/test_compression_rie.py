"""Compression keeps HTTP's meaning, end to end under the real RIE (REWEB_ENABLE_COMPRESSION, HTTP API events):
a part (206) and a no-transform answer go out as the app sent them; the gzipped variant carries a weak ETag, no
digest of the original bytes, no Accept-Ranges, and Vary: Accept-Encoding; the weak tag still revalidates."""

from __future__ import annotations

import base64
import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration
APP = r'''import http.server, sys
PAGE = b"<p>compress me, or do not</p>\n" * 200
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status, headers, body = 200, [("Content-Type", "text/html; charset=utf-8")], PAGE
        if self.path == "/part":
            status, body = 206, PAGE[100:1100]
            headers.append(("Content-Range", f"bytes 100-1099/{len(PAGE)}"))
        elif self.path == "/no-transform":
            headers.append(("Cache-Control", "public, No-Transform"))
        elif self.path == "/validated":
            if self.headers.get("If-None-Match", "").removeprefix("W/") == '"v1"':  # weak comparison, as
                status, headers, body = 304, [("ETag", '"v1"')], b""                # frameworks do
            else:
                headers += [("ETag", '"v1"'), ("Content-MD5", "bm90IHRoZSBnemlwIGJ5dGVz"), ("Accept-Ranges", "bytes"),
                            ("Repr-Digest", "sha-256=:bm90IHRoZSBnemlwIGJ5dGVzIGVpdGhlciwgcmVhbGx5:"),
                            ("Vary", "Cookie")]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
'''
PAGE = b"<p>compress me, or do not</p>\n" * 200


@pytest.fixture(scope="module")
def function(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RieFunction]:
    app = Path(tmp_path_factory.mktemp("compression")) / "app.py"
    app.write_text(APP)
    port = free_port()
    rie = RieFunction({"REWEB_APPLICATION_PORT": str(port), "REWEB_ENABLE_COMPRESSION": "true",
                       "REWEB_APPLICATION_EXEC": f"{sys.executable} {app} {port}"})
    yield rie
    rie.close()


def get(function: RieFunction, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    event = {"version": "2.0", "rawPath": path, "rawQueryString": "",
             "headers": {"host": "x", "accept-encoding": "gzip, deflate", **headers},
             "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}}
    answer: dict[str, Any] = function.invoke(event)
    assert "statusCode" in answer, (answer, function.logs())
    body = answer.get("body", "")
    raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    return answer["statusCode"], {k.lower(): v for k, v in answer.get("headers", {}).items()}, raw


def test_a_part_keeps_its_bytes_and_its_content_range(function: RieFunction) -> None:
    status, headers, body = get(function, "/part")
    assert status == 206 and "content-encoding" not in headers
    assert headers["content-range"] == f"bytes 100-1099/{len(PAGE)}" and body == PAGE[100:1100]


def test_a_no_transform_answer_is_not_compressed(function: RieFunction) -> None:
    status, headers, body = get(function, "/no-transform")
    assert status == 200 and "content-encoding" not in headers and body == PAGE
    assert headers["cache-control"] == "public, No-Transform"


def test_the_gzipped_variant_has_a_weak_etag_and_no_digest_of_the_original(function: RieFunction) -> None:
    status, headers, body = get(function, "/validated")
    assert status == 200 and headers["content-encoding"] == "gzip" and gzip.decompress(body) == PAGE
    assert headers["etag"] == 'W/"v1"'
    assert not {"content-md5", "repr-digest", "accept-ranges"} & headers.keys(), headers
    assert [v.strip().lower() for v in headers["vary"].split(",")] == ["cookie", "accept-encoding"]
    # The client sends the weak tag back: the app still recognises its own and answers 304.
    status, headers, body = get(function, "/validated", **{"if-none-match": headers["etag"]})
    assert status == 304 and body == b""
