"""Responses over the event source's limit go to S3; the client gets a redirect to a presigned GET URL.

REWEB_OFFLOAD_BUCKET=bucket or bucket/prefix. The body is uploaded while it is read from the app (multipart,
PART_SIZE at a time), so memory stays bounded whatever the size; a body that fits one part is one PutObject.
The object keeps the app's Content-Type, Content-Disposition, Content-Encoding, Cache-Control and
Content-Language, so fetching the URL gives the client what the app sent.

Which redirect: 307 for GET (the same request, elsewhere: clients keep the method, and a GET is what the URL
is signed for), 303 for every other method (a POST that exported a large file: "the answer is over there, GET
it"; a 307 would repeat the POST against a URL signed for GET, and 302 leaves the method to the client's
taste). The redirect carries the app's Set-Cookie lines (a login that answers with a large page still logs
in) and Cache-Control: no-store (the URL expires).

Loaded only when the setting is on and a response is over the limit: nothing of it costs a cold start.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import quote, urlsplit

from .aws import AwsError, Credentials, connection, presign, region_of, sign
from .config import parse_bucket
from .http import HttpResponse

PART_SIZE = 8 * 1024 * 1024  # S3 wants at least 5 MiB per part but the last; 8 MiB is the CLI's default
KEPT_HEADERS = ("content-type", "content-disposition", "content-encoding", "cache-control", "content-language")


class OffloadError(Exception):
    """The upload failed; the message names the cause (S3's error code and message), never a credential."""


def blocks(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The chunks regrouped into blocks of exactly `size` bytes, the last one shorter (never empty)."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        del chunk  # the peak holds one block and what is pending, not also the last chunk
        while len(pending) >= size:
            with memoryview(pending) as view:
                block = bytes(view[:size])  # one copy (a slice of the bytearray would be a second)
            del pending[:size]
            yield block
            del block
    if pending:
        yield bytes(pending)


class Offload:
    def __init__(self, bucket_setting: str, expires: int, env: Mapping[str, str] | None = None) -> None:
        self.bucket, self.prefix = parse_bucket(bucket_setting)
        self.expires = expires
        self.env = os.environ if env is None else env

    def object_url(self, key: str, region: str) -> str:
        """Path style at a custom endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, as the SDKs read them);
        virtual-hosted at AWS, or path style for a bucket name with dots (TLS names have no dots inside)."""
        env = self.env
        custom = (env.get("AWS_ENDPOINT_URL_S3", "") or env.get("AWS_ENDPOINT_URL", "")).rstrip("/")
        path = quote(key, safe="/-_.~")
        if custom:
            return f"{custom}/{self.bucket}/{path}"
        if "." in self.bucket:
            return f"https://s3.{region}.amazonaws.com/{self.bucket}/{path}"
        return f"https://{self.bucket}.s3.{region}.amazonaws.com/{path}"

    def store(self, name: str, method: str, response: HttpResponse,
              deadline: float | None) -> tuple[HttpResponse, int]:
        """Upload the response's body (response.body, then response.stream) as object `name` under the
        prefix; return the redirect to its presigned URL and the bytes stored. Raises OffloadError, or the app's
        UpstreamError when the app fails while its body is read (the upload is aborted either way)."""
        try:
            credentials = Credentials.from_env(self.env)
        except AwsError as exc:
            raise OffloadError(str(exc)) from None
        region = region_of(self.env)
        url = self.object_url(self.prefix + name, region)
        content = {n.title(): v for n, v in response.headers if n.lower() in KEPT_HEADERS}
        upload = _Upload(url, credentials, region, deadline)
        try:
            upload.put(_take_body(response), content)
        finally:
            upload.close()
            if response.stream is not None:
                response.stream.close()  # type: ignore[attr-defined]
        location = presign("GET", url, credentials, region, "s3", self.expires)
        headers = [("Location", location), ("Cache-Control", "no-store"), ("Content-Length", "0")]
        headers += [(n, v) for n, v in response.headers if n.lower() == "set-cookie"]
        redirect = HttpResponse(307 if method == "GET" else 303, headers, b"")
        redirect.origin = "reweb"
        return redirect, upload.size


class _Upload:
    """One object's upload over one connection: PutObject, or a multipart upload aborted on any failure."""

    def __init__(self, url: str, credentials: Credentials, region: str, deadline: float | None) -> None:
        self.url = url
        self.parts = urlsplit(url)
        self.credentials = credentials
        self.region = region
        self.deadline = deadline
        self.size = 0  # bytes uploaded
        self.conn = connection(self.parts, self._time_left())

    def close(self) -> None:
        self.conn.close()

    def _time_left(self) -> float:
        return 60.0 if self.deadline is None else max(self.deadline - time.monotonic(), 0.001)

    def put(self, chunks: Iterable[bytes], content: dict[str, str]) -> None:
        pieces = blocks(chunks, PART_SIZE)
        first = next(pieces, b"")
        second = next(pieces, None)
        if second is None:
            self._call("PutObject", "PUT", "", content, first)
            return
        queue = [first, second]  # held by the queue only: each block is freed once it is sent
        del first, second
        answer = self._call("CreateMultipartUpload", "POST", "uploads", content, b"")
        upload_id = _xml_text(answer, "UploadId")
        if not upload_id:
            raise OffloadError("S3 answered CreateMultipartUpload without an UploadId")
        etags: list[str] = []
        by_id = f"uploadId={quote(upload_id, safe='')}"
        try:
            for number, block in enumerate(_drain(queue, pieces), 1):
                query = f"partNumber={number}&{by_id}"
                etags.append(self._call("UploadPart", "PUT", query, {}, block, want="etag").decode())
                del block
            body = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
                           for n, etag in enumerate(etags, 1))
            done = self._call("CompleteMultipartUpload", "POST", by_id, {"Content-Type": "application/xml"},
                              f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode())
            if b"<Error>" in done:  # S3 can fail a completion inside a 200 answer
                raise OffloadError("CompleteMultipartUpload: " + _describe(done))
        except BaseException:
            # The first failure is the one to report; should the abort fail too, a lifecycle rule cleans up.
            with contextlib.suppress(Exception):
                self._call("AbortMultipartUpload", "DELETE", by_id, {}, b"")
            raise

    def _call(self, operation: str, method: str, query: str, headers: dict[str, str], body: bytes,
              want: str = "body") -> bytes:
        url = self.url + ("?" + query if query else "")
        digest = hashlib.sha256(body).hexdigest()
        self.size += len(body) if method == "PUT" else 0
        signed = sign(method, url, {**headers, "x-amz-content-sha256": digest}, body, self.credentials,
                      self.region, "s3", payload_hash=digest)
        signed["Content-Length"] = str(len(body))
        target = self.parts.path + ("?" + query if query else "")
        conn = self.conn
        conn.timeout = self._time_left()
        if conn.sock is not None:
            conn.sock.settimeout(conn.timeout)
        try:
            conn.request(method, target, body=body, headers=signed)
            answer = conn.getresponse()
            data = answer.read()
        except OSError as exc:
            conn.close()
            raise OffloadError(f"S3 at {self.parts.netloc} could not be reached: {exc.strerror or exc}") from None
        if answer.status >= 300:
            raise OffloadError(f"S3 answered {answer.status} to {operation}: {_describe(data)}")
        if want == "etag":
            return (answer.getheader("ETag") or "").encode()
        return data


def _drain(queue: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    while queue:
        yield queue.pop(0)
    yield from rest


def _take_body(response: HttpResponse) -> Iterator[bytes]:
    """The response's body, then its stream; the body leaves the response so the upload holds the only copy."""
    body, response.body = response.body, b""
    if body:
        yield body
    del body
    if response.stream is not None:
        yield from response.stream


_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


def _xml_text(data: bytes, tag: str) -> str:
    """The text of S3's first <tag> element. S3's answers are flat and small; a regex keeps the xml package
    (and the expat parser, which the one-file executable does not carry) out of reweb."""
    found = re.search(rb"<(?:[\w-]+:)?" + tag.encode() + rb">([^<]*)</", data)
    if found is None:
        return ""
    text = found.group(1).decode("utf-8", "replace")
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


def _describe(data: bytes) -> str:
    """S3's <Code> and <Message>, which name the cause (NoSuchBucket, AccessDenied...) and no credential."""
    code, message = _xml_text(data, "Code"), _xml_text(data, "Message")
    text = f"{code}: {message}" if message else code
    return text[:300] or "no error description"
