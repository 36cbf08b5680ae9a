"""Responses over the event source's limit go to S3; the client gets a redirect to a presigned GET URL.

REWEB_OFFLOAD_BUCKET=bucket or bucket/prefix. The body is uploaded while it is read from the app (multipart,
PART_SIZE at a time), so memory stays bounded whatever the size; a body that fits one part is one PutObject.
Only a 200 is stored (the adapter decides which answers come here: docs/offload.md): the object is the whole
representation, so a client that follows the redirect with its Range gets that range from S3.

Headers are split by what they describe. The object keeps those that describe the body and that S3 stores
(STORED: Content-Type, Content-Disposition, Content-Encoding, Content-Language, Cache-Control, Expires); its
ETag and Last-Modified are S3's own. The redirect keeps every other header of the app (Set-Cookie, CORS, Vary,
its own X-...): a cross-origin fetch checks CORS on the redirect itself. A value S3 cannot carry (not ASCII) is
encoded the RFC 5987 way in Content-Disposition and dropped with a note elsewhere.

Which redirect: 307 for GET (the same request, elsewhere: clients keep the method and their Range, and a GET is
what the URL is signed for), 303 for every other method (a POST that exported a large file: "the answer is over
there, GET it"; a 307 would repeat the POST against a URL signed for GET). It says Cache-Control: no-store (the
URL expires).

One deadline, the invocation's, bounds the whole store (aws.connection): past it, OffloadTimeout.
Loaded only when the setting is on and a response is over the limit: nothing of it costs a cold start.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import quote, urlsplit

from .aws import AwsError, Credentials, connection, presign, region_of, sign, time_left
from .config import parse_bucket
from .http import HttpResponse

PART_SIZE = 8 * 1024 * 1024  # S3 wants at least 5 MiB per part but the last; 8 MiB is the CLI's default
# What describes the body and S3 stores with the object (its "system metadata"): these go on the object.
STORED = ("content-type", "content-disposition", "content-encoding", "content-language", "cache-control", "expires")
# What describes the body (or one connection) and so never goes on the redirect; with STORED, Location and the
# app's caching, the rest of the app's headers does (REPRESENTATION alone is dropped from a placeholder answer).
REPRESENTATION = frozenset(("content-type", "content-length", "content-encoding", "content-language",
                            "content-disposition", "content-range", "content-location", "content-md5",
                            "content-digest", "repr-digest", "digest", "etag", "last-modified", "accept-ranges",
                            "age", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "trailer",
                            "te", "upgrade"))
NOT_ON_REDIRECT = REPRESENTATION | {"cache-control", "expires", "location"}
_ATTR_CHAR = "!#$&+-.^_`|~"  # RFC 5987 attr-char besides letters and digits


class OffloadError(Exception):
    """The upload failed; the message names the cause (S3's error code and message), never a credential. It is
    for the log: S3's message can name the account and role, so the client is told less (the adapter)."""


class OffloadTimeout(OffloadError):
    """The invocation's deadline came before S3 had the whole object."""


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
              deadline: float | None) -> tuple[HttpResponse, int, list[str]]:
        """Upload the response's body (response.body, then response.stream) as object `name` under the
        prefix; return the redirect to its presigned URL, the bytes stored and notes for the log (headers
        dropped). Raises OffloadError, or the app's UpstreamError when the app fails while its body is read
        (the upload is aborted either way)."""
        region = region_of(self.env)
        url = self.object_url(self.prefix + name, region)
        content, notes = object_headers(response.headers)
        try:  # the app's stream is closed whatever fails: its connection is then not left mid-body
            try:
                credentials = Credentials.from_env(self.env)
            except AwsError as exc:
                raise OffloadError(str(exc)) from None
            upload = _Upload(url, credentials, region, deadline)
            try:
                upload.put(_take_body(response), content)
            finally:
                upload.close()
        finally:
            if response.stream is not None:
                response.stream.close()  # type: ignore[attr-defined]
        location = presign("GET", url, credentials, region, "s3", self.expires)
        headers = [("Location", location), ("Cache-Control", "no-store"), ("Content-Length", "0")]
        headers += [(n, v) for n, v in response.headers if n.lower() not in NOT_ON_REDIRECT]
        redirect = HttpResponse(307 if method == "GET" else 303, headers, b"")
        redirect.origin = "reweb"
        return redirect, upload.size, notes


def object_headers(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """The app's headers that go on the object, as S3 takes them (ASCII: S3 signs and stores header bytes as
    they are, and http.client sends Latin-1 only), and notes on what was changed or dropped."""
    kept: dict[str, str] = {}
    notes: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key not in STORED:
            continue
        if not value.isascii() and key == "content-disposition":
            value = ascii_disposition(value)
            notes.append("Content-Disposition stored with its non-ASCII parameters in RFC 5987 form")
        if not value.isascii() or not value.isprintable():
            notes.append(f"{name.title()} dropped from the stored object: S3 takes only printable ASCII values")
            continue
        if key == "expires" and not _http_date(value):
            notes.append(f"Expires dropped from the stored object: {value[:40]!r} is not an HTTP date")
            continue
        title = name.title()
        # Repeats of a list header join (RFC 9110 5.3); for the others the last one counts, as for a client.
        kept[title] = f"{kept[title]}, {value}" if title in kept and key != "content-type" else value
    return kept, notes


def ascii_disposition(value: str) -> str:
    """Content-Disposition with each non-ASCII parameter as an RFC 5987 ext-value (filename*=UTF-8''...,
    RFC 6266), which every current browser reads; a plain parameter whose starred form is there too is
    dropped. A non-ASCII disposition type stays non-ASCII (then the caller drops the header)."""
    kind, _, rest = value.partition(";")
    params: list[tuple[str, str]] = []
    for found in re.finditer(r'\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)\s*;?', rest):
        name, raw = found.group(1), found.group(2).strip()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.append((name, raw))
    starred = {n.lower() for n, _ in params if n.endswith("*")}
    out = [kind.strip()]
    for name, raw in params:
        if raw.isascii():
            out.append(f"{name}={_quoted(raw)}" if not name.endswith("*") else f"{name}={raw}")
        elif name.endswith("*"):  # an ext-value whose characters were sent raw: encode them
            _charset, _, text = raw.partition("'")
            language, _, text = text.partition("'")
            out.append(f"{name}=UTF-8'{language}'{quote(text, safe=_ATTR_CHAR + '%')}")
        elif name.lower() + "*" not in starred:
            out.append(f"{name}*=UTF-8''{quote(raw, safe=_ATTR_CHAR)}")
    return "; ".join(out)


def _quoted(text: str) -> str:
    if text and re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _http_date(text: str) -> bool:
    from email.utils import parsedate_tz

    return parsedate_tz(text) is not None


class _Upload:
    """One object's upload over one connection: PutObject, or a multipart upload aborted on any failure."""

    def __init__(self, url: str, credentials: Credentials, region: str, deadline: float | None) -> None:
        self.url = url
        self.parts = urlsplit(url)
        self.credentials = credentials
        self.region = region
        self.deadline = deadline
        self.size = 0  # bytes uploaded
        try:
            self.conn = connection(self.parts, 60.0, deadline)  # 60 s per operation only without a deadline
        except AwsError as exc:
            raise OffloadError(str(exc)) from None

    def close(self) -> None:
        self.conn.close()

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

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
            # The first failure is the one to report; should the abort fail too (or no time be left for it),
            # the bucket's lifecycle rule cleans up.
            if not self.expired():
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
        try:
            if self.deadline is not None:
                time_left(self.deadline)
            conn.request(method, target, body=body, headers=signed)
            answer = conn.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if isinstance(exc, TimeoutError) or self.expired():
                raise OffloadTimeout(f"S3 at {self.parts.netloc} had not answered {operation} at the invocation "
                                     "deadline") from None
            if isinstance(exc, OSError):
                reason = exc.strerror or str(exc)
                raise OffloadError(f"S3 at {self.parts.netloc} could not be reached: {reason}") from None
            raise OffloadError(f"S3 at {self.parts.netloc} answered {operation} with something that is not "
                               f"HTTP ({type(exc).__name__}: {str(exc)[:100]!r})") from None
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
