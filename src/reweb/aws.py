"""The little of AWS that reweb needs: Signature Version 4 (headers and presigned URLs) and a JSON-1.1 call
(SSM and Secrets Manager at init; S3 for responses over the limit, in offload.py).

Hand-written, not botocore: botocore costs ~150 ms of import and tens of MB in the one-file executable, for
a handful of calls, and none on the hot path. SigV4 is a short, fully specified algorithm; the tests check this signer
against botocore's (the oracle) on generated requests. Loaded only when a secret is asked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from urllib.parse import SplitResult, quote, urlsplit

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    import io
    import socket
    import ssl
    from typing import Any


class AwsError(Exception):
    """A failed AWS call, in one line that names the service's error and never a credential."""


class Credentials:
    __slots__ = ("access_key", "secret_key", "token")

    def __init__(self, access_key: str, secret_key: str, token: str = "") -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token  # empty means none (the RIE sets an empty AWS_SESSION_TOKEN)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        access, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
        if not access or not secret:
            raise AwsError("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
        return cls(access, secret, env.get("AWS_SESSION_TOKEN", ""))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _host(parts: SplitResult) -> str:
    """The Host header as the SDKs sign it: the port only when it is not the scheme's default."""
    netloc = parts.netloc
    default = {"https": ":443", "http": ":80"}.get(parts.scheme)
    return netloc[:-len(default)] if default and netloc.endswith(default) else netloc


def _canonical_query(query: str, extra: Mapping[str, str] | None = None) -> str:
    # The URL's own query is already percent-encoded (as botocore takes it too): sorted, not encoded again.
    encoded = [(k, v) for k, _, v in (pair.partition("=") for pair in query.split("&") if pair)]
    if extra:  # values not yet percent-encoded (a presigned URL's own parameters)
        encoded += [(quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in extra.items()]
    return "&".join(f"{k}={v}" for k, v in sorted(encoded))


def _signature(secret_key: str, day: str, region: str, service: str, stamp: str, scope: str,
               canonical: str) -> str:
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret_key).encode(), day), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _stamp(now: float | None) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


def sign(method: str, url: str, headers: dict[str, str], body: bytes, credentials: Credentials, region: str,
         service: str, now: float | None = None, payload_hash: str = "") -> dict[str, str]:
    """The headers to send: `headers` plus host, x-amz-date, the session token and Authorization, per AWS
    Signature Version 4. Every header given is signed. For S3 the URL's path is already percent-encoded once
    and is signed as it is (other services sign it encoded again), and `payload_hash` is the body's SHA-256
    when the caller has it already (S3 also wants it sent, as x-amz-content-sha256)."""
    parts = urlsplit(url)
    stamp = _stamp(now)
    day = stamp[:8]
    signed = {name.lower(): " ".join(value.strip().split()) for name, value in headers.items()}
    signed["host"] = _host(parts)
    signed["x-amz-date"] = stamp
    if credentials.token:
        signed["x-amz-security-token"] = credentials.token
    names = sorted(signed)
    canonical = "\n".join([
        method,
        (parts.path or "/") if service == "s3" else quote(parts.path or "/", safe="/-_.~"),
        _canonical_query(parts.query),
        "".join(f"{name}:{signed[name]}\n" for name in names),
        ";".join(names),
        payload_hash or hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    signature = _signature(credentials.secret_key, day, region, service, stamp, scope, canonical)
    out = dict(headers)
    out["Host"] = signed["host"]
    out["X-Amz-Date"] = stamp
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return out


def presign(method: str, url: str, credentials: Credentials, region: str, service: str, expires: int,
            now: float | None = None) -> str:
    """`url` with SigV4 query authentication (a presigned URL), valid for `expires` seconds: only the host
    header is signed and the payload is UNSIGNED-PAYLOAD, as every SDK presigns for S3."""
    parts = urlsplit(url)
    stamp = _stamp(now)
    day = stamp[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    auth = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"{credentials.access_key}/{scope}",
            "X-Amz-Date": stamp, "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": "host"}
    if credentials.token:
        auth["X-Amz-Security-Token"] = credentials.token
    query = _canonical_query(parts.query, auth)
    canonical = "\n".join([method, parts.path or "/", query, f"host:{_host(parts)}\n", "host", "UNSIGNED-PAYLOAD"])
    signature = _signature(credentials.secret_key, day, region, service, stamp, scope, canonical)
    return f"{parts.scheme}://{parts.netloc}{parts.path or '/'}?{query}&X-Amz-Signature={signature}"


def endpoint(env: Mapping[str, str], service_id: str, host_prefix: str, region: str) -> str:
    """The AWS SDKs' rule: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the regional endpoint."""
    specific = env.get("AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_"), "")
    return (specific or env.get("AWS_ENDPOINT_URL", "") or f"https://{host_prefix}.{region}.amazonaws.com").rstrip("/")


# Where Linux distributions keep their CA bundle (the list Go's crypto/x509 searches): the one-file executable
# carries OpenSSL built for Debian's paths, and runs in Amazon Linux, Alpine or distroless images too.
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
              "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem")
_tls_context: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """Made once: SSL_CERT_FILE when set, else the first CA bundle found, else OpenSSL's defaults."""
    global _tls_context
    if _tls_context is None:
        import os
        import ssl

        cafile = os.environ.get("SSL_CERT_FILE") or next((p for p in CA_BUNDLES if os.path.isfile(p)), None)
        _tls_context = ssl.create_default_context(cafile=cafile)
    return _tls_context


def connection(parts: SplitResult, timeout: float, deadline: float | None = None) -> http.client.HTTPConnection:
    """A connection to an AWS endpoint. With `deadline` (monotonic seconds), that one instant bounds everything
    on it: connecting, the TLS handshake, every send and every read (a socket timeout is per operation, so
    an endpoint that trickles one byte at a time would never trip it); past it, TimeoutError."""
    import http.client

    if parts.scheme == "https":
        try:
            context = tls_context()
        except OSError as exc:
            raise AwsError(f"the CA certificates could not be read: {exc}") from None
        if deadline is not None:
            return _deadline_classes()[1](parts.netloc, deadline, context=context)
        return http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=context)
    if deadline is not None:
        return _deadline_classes()[0](parts.netloc, deadline)
    return http.client.HTTPConnection(parts.netloc, timeout=timeout)


def time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline has passed")
    return left


class _DeadlineSocket:
    """A connected socket whose every send and receive waits at most until the deadline. http.client uses only
    sendall, makefile (for reading) and close; anything else goes to the socket itself."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._readers = 0  # open makefile() readers: close() waits for them, as socket.socket's does
        self._closed = False

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(time_left(self._deadline))  # sendall's timeout bounds the whole call
        self._sock.sendall(data)

    def recv_into(self, buffer: memoryview, nbytes: int = 0) -> int:
        self._sock.settimeout(time_left(self._deadline))
        return self._sock.recv_into(buffer, nbytes)

    def makefile(self, mode: str = "rb", buffering: int = -1) -> io.BufferedReader:
        import io
        import socket

        self._readers += 1
        return io.BufferedReader(socket.SocketIO(self, "rb"))  # type: ignore[arg-type]  # reads via recv_into

    def _decref_socketios(self) -> None:  # SocketIO.close calls it
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self._sock.close()

    def close(self) -> None:
        # http.client closes the connection of an answer that says Connection: close before that answer is
        # read: the socket stays open until its reader is closed too.
        self._closed = True
        if self._readers <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _connector(deadline: float) -> Callable[..., socket.socket]:
    """socket.create_connection within `deadline` as a whole: each address tried gets only what is left of it
    (create_connection gives each the full timeout). A numeric host (an endpoint given as an IP, moto on
    127.0.0.1) is connected to without getaddrinfo. A name's resolution cannot be bounded short of a thread:
    getaddrinfo has no timeout (resolv.conf's `options timeout:attempts` bound it; Lambda's resolver answers in
    well under a millisecond from its cache); past the deadline after it, TimeoutError and no connect."""
    import socket

    def connect(address: tuple[str, int], timeout: object = None,
                source_address: tuple[str, int] | None = None) -> socket.socket:
        host, port = address
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            socket.inet_pton(family, host)
            targets: list[tuple[int, int, int, Any]] = [(family, socket.SOCK_STREAM, 0, (host, port))]
        except OSError:
            targets = [(info[0], info[1], info[2], info[4])
                       for info in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)]
        failure: OSError = OSError(f"no address for {host}")
        for af, kind, proto, where in targets:
            left = time_left(deadline)
            sock = socket.socket(af, kind, proto)
            try:
                sock.settimeout(left)
                if source_address:
                    sock.bind(source_address)
                sock.connect(where)
            except OSError as exc:
                sock.close()
                if isinstance(exc, TimeoutError):  # the whole deadline is spent
                    raise
                failure = exc
                continue
            return sock
        raise failure

    return connect


_classes: tuple[Callable[..., http.client.HTTPConnection], Callable[..., http.client.HTTPConnection]] | None = None


def _deadline_classes() -> tuple[Callable[..., http.client.HTTPConnection], Callable[..., http.client.HTTPConnection]]:
    """http.client's two connection classes, connecting within the deadline and wrapping the socket in a
    _DeadlineSocket (after the TLS handshake, whose own timeout CPython applies to the handshake as a whole)."""
    global _classes
    if _classes is None:
        import http.client

        class Deadlined(http.client.HTTPConnection):
            def __init__(self, host: str, deadline: float, **kwargs: Any) -> None:
                super().__init__(host, timeout=max(deadline - time.monotonic(), 0.001), **kwargs)
                self.deadline = deadline
                self._create_connection = _connector(deadline)

            def connect(self) -> None:
                self.timeout = time_left(self.deadline)
                super().connect()
                self.sock = _DeadlineSocket(self.sock, self.deadline)

        class DeadlinedTls(Deadlined, http.client.HTTPSConnection):
            """Deadlined's methods around HTTPSConnection's (MRO): the socket wrapped after the TLS handshake."""

        _classes = (Deadlined, DeadlinedTls)
    return _classes


def call_json(url: str, service: str, target: str, payload: dict[str, object], credentials: Credentials,
              region: str, timeout: float = 5.0) -> dict[str, object]:
    """One AWS JSON-1.1 call (POST /, X-Amz-Target). Raises AwsError with the service's error type."""
    body = json.dumps(payload).encode()
    headers = sign("POST", url + "/", {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
                   body, credentials, region, service)
    parts = urlsplit(url)
    conn = connection(parts, timeout)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except OSError as exc:
        raise AwsError(f"{service} at {parts.netloc} could not be reached: {exc.strerror or exc}") from None
    finally:
        conn.close()
    try:
        answer = json.loads(data or b"{}")
    except ValueError:
        raise AwsError(f"{service} answered {response.status} with something that is not JSON") from None
    if response.status != 200:
        kind = str(answer.get("__type", "")).rpartition("#")[2] or f"HTTP {response.status}"
        message = str(answer.get("message") or answer.get("Message") or "")[:300]
        raise AwsError(f"{service}: {kind}" + (f": {message}" if message else ""))
    if not isinstance(answer, dict):
        raise AwsError(f"{service} answered with unexpected JSON")
    return answer


def region_of(env: Mapping[str, str]) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"

