"""What an offloaded answer means to the client (issue 18): Range requests, statuses other than 200, the headers
the redirect and the object keep, header values S3 cannot carry as they are, non-HTTP events, and what a client
learns of a failed upload. Under the real RIE, against moto's server on loopback (its S3 answers Range itself)."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.moto_server import bucket, moto_server
from tests.support.offload import KEYS, MB, REGION, expected, http_event
from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration

# /file?mb=N: a file that honours one Range (bytes=a-b, a-, -n) with 206, ETag "v1", CORS and app headers,
# raw UTF-8 Content-Disposition with &utf8=1. /status?code=C&mb=N: status C with an N MB body.
# POST /events: the non-HTTP pass-through path, answering N MB (?mb in the event's JSON).
APP = r"""import http.server, json, random, sys, urllib.parse
MB = 1 << 20
def content(size):
    out, i = bytearray(), 0
    while len(out) < size:
        out += random.Random(i).randbytes(MB)[:size - len(out)]
        i += 1
    return bytes(out)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def send_header(self, name, value):  # raw UTF-8, as many servers write a non-Latin-1 value
        self._headers_buffer.append(f"{name}: {value}\r\n".encode())
    def send(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.send(200, [("Content-Type", "application/json")],
                  json.dumps({"data": "x" * int(float(event["mb"]) * MB)}).encode())
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        size = int(float(q.get("mb", "1")) * MB)
        common = [("Set-Cookie", "session=abc; Path=/"), ("Access-Control-Allow-Origin", "https://app.example"),
                  ("Access-Control-Allow-Credentials", "true"), ("Access-Control-Expose-Headers", "X-Request-Cost"),
                  ("Vary", "Origin"), ("X-Request-Cost", "42")]
        if url.path == "/status":
            self.send(int(q["code"]), common + [("Content-Type", "text/html")], b"<p>" * (size // 3))
            return
        body = content(size)
        headers = common + [("Content-Type", "application/pdf"), ("ETag", '"v1"'), ("Accept-Ranges", "bytes"),
                            ("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT"),
                            ("Cache-Control", "private, max-age=60")]
        if q.get("utf8"):
            headers.append(("Content-Disposition", 'attachment; filename="\u5831\u544a\u66f8.pdf"'))
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            if first:
                start, end = int(first), int(last) if last else size - 1
            else:
                start, end = size - int(last), size - 1
            end = min(end, size - 1)
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
            self.send(206, headers, body[start:end + 1])
            return
        self.send(200, headers, body)
    do_HEAD = do_GET
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    # moto's backends are per process: a bucket of this module's own, beside test_offload.py's.
    with moto_server() as url:
        bucket(url, "reweb-http", REGION)
        yield url


def start(folder: Path, env: dict[str, str]) -> RieFunction:
    (folder / "app.py").write_text(APP)
    port = free_port()
    return RieFunction({**KEYS, "REWEB_APPLICATION_PORT": str(port),
                        "REWEB_APPLICATION_EXEC": f"{sys.executable} {folder / 'app.py'} {port}", **env},
                       timeout_s=60)


@pytest.fixture(scope="module")
def function(tmp_path_factory: pytest.TempPathFactory, moto_url: str) -> Iterator[RieFunction]:
    fn = start(tmp_path_factory.mktemp("offload-http"), {"AWS_ENDPOINT_URL_S3": moto_url,
                                                         "REWEB_OFFLOAD_BUCKET": "reweb-http/answers/"})
    yield fn
    fn.close()


def ranged(path: str, query: str, range_: str) -> dict[str, Any]:
    event = http_event(path, query)
    event["headers"]["range"] = range_
    return event


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


# -- 5. Range and statuses ------------------------------------------------------------------------------------

@pytest.mark.parametrize("range_", ["bytes=1000000-", "bytes=500-7500000", "bytes=-6500000"])
def test_a_range_whose_answer_is_too_large_gets_exactly_its_bytes(function: RieFunction, range_: str) -> None:
    # The browser seeking in a 10 MB video: the 206 is over 6 MB. The client follows the 307 with its own Range,
    # so the object must be the whole representation and S3 must answer the range.
    result = function.invoke(ranged("/file", "mb=10", range_))
    assert result["statusCode"] == 307, result
    status, headers, body = get(result["headers"]["location"], {"Range": range_})
    whole = expected(10)
    first, _, last = range_[6:].partition("-")
    want = whole[-int(last):] if not first else whole[int(first):int(last) + 1 if last else None]
    assert status == 206, (status, headers)
    assert body == want
    assert headers["content-range"].endswith(f"/{10 * MB}")
    assert headers["content-type"] == "application/pdf"


def test_a_small_range_of_a_large_file_stays_inline(function: RieFunction) -> None:
    result = function.invoke(ranged("/file", "mb=10", "bytes=0-99"))
    assert result["statusCode"] == 206, result
    assert result["headers"]["content-range"] == f"bytes 0-99/{10 * MB}"


@pytest.mark.parametrize("code", [404, 500, 301])
def test_an_error_over_the_limit_keeps_its_status(function: RieFunction, code: int) -> None:
    result = function.invoke(http_event("/status", f"code={code}&mb=7"))
    assert result["statusCode"] == code, result["statusCode"]
    assert "location" not in result["headers"]
    assert "reweb: the app's 7340031-byte" in result["body"], result["body"][:300]
    assert result["headers"]["access-control-allow-origin"] == "https://app.example"
    assert result["cookies"] == ["session=abc; Path=/"]


def test_a_success_other_than_200_over_the_limit_is_a_502_naming_the_size(function: RieFunction) -> None:
    result = function.invoke(http_event("/status", "code=201&mb=7"))
    assert result["statusCode"] == 502, result["statusCode"]
    assert "201" in result["body"] and "7340031" in result["body"], result["body"]
    assert "location" not in result["headers"]


# -- 6. headers -------------------------------------------------------------------------------------------------

def test_the_redirect_keeps_what_a_browser_needs_and_the_object_what_describes_the_body(function: RieFunction) -> None:
    result = function.invoke(http_event("/file", "mb=8"))
    assert result["statusCode"] == 307, result
    headers = {k.lower(): v for k, v in result["headers"].items()}
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-expose-headers"] == "X-Request-Cost"
    assert headers["vary"] == "Origin"
    assert headers["x-request-cost"] == "42"
    assert headers["cache-control"] == "no-store"
    for name in ("content-type", "etag", "last-modified", "accept-ranges"):  # the object's, not the redirect's
        assert name not in headers, name
    assert result["cookies"] == ["session=abc; Path=/"]
    status, stored, body = get(headers["location"])
    assert status == 200 and body == expected(8)
    assert stored["content-type"] == "application/pdf"
    assert stored["cache-control"] == "private, max-age=60"


# -- 7. a header value S3 cannot carry as it is ----------------------------------------------------------------

def test_a_utf8_file_name_is_stored_the_rfc_5987_way(function: RieFunction) -> None:
    result = function.invoke(http_event("/file", "mb=7&utf8=1"))
    assert result["statusCode"] == 307, result
    status, stored, body = get(result["headers"]["location"])
    assert status == 200 and body == expected(7)
    assert stored["content-disposition"] == "attachment; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf"


# -- 3. what the client learns of a failed upload ---------------------------------------------------------------

def test_a_failed_upload_tells_the_client_little_and_the_log_everything(tmp_path: Path, moto_url: str) -> None:
    fn = start(tmp_path, {"AWS_ENDPOINT_URL_S3": moto_url, "REWEB_OFFLOAD_BUCKET": "secret-bucket-name"})
    try:
        result = fn.invoke(http_event("/file", "mb=7"))
        assert result["statusCode"] == 502, result
        assert result["body"] == "reweb: the response could not be stored\n"
        logs = fn.logs_with("NoSuchBucket")
        assert "NoSuchBucket" in logs and "secret-bucket-name" in logs
    finally:
        fn.close()


# -- 9. non-HTTP events -----------------------------------------------------------------------------------------

def test_an_oversized_answer_to_a_non_http_event_reports_its_size(function: RieFunction) -> None:
    result = function.invoke({"Records": [{"eventSource": "aws:sqs"}], "mb": 10})
    size = len(json.dumps({"data": "x" * 10 * MB}))
    assert str(size) in result["errorMessage"], result
    # The app's connection is sound afterwards.
    assert function.invoke(http_event("/file", "mb=0.001"))["statusCode"] == 200
