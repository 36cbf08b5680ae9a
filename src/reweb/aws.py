"""The little of AWS that reweb needs at init: Signature Version 4 and a JSON-1.1 call (SSM, Secrets Manager).

Hand-written, not botocore: botocore costs ~150 ms of import and tens of MB in the one-file executable, for
two calls made once per cold start. SigV4 is a short, fully specified algorithm; the tests check this signer
against botocore's (the oracle) on generated requests. Loaded only when a secret is asked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from urllib.parse import quote, urlsplit


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


def sign(method: str, url: str, headers: dict[str, str], body: bytes, credentials: Credentials, region: str,
         service: str, now: float | None = None) -> dict[str, str]:
    """The headers to send: `headers` plus host, x-amz-date, x-amz-content-sha256 (when given), the session
    token and Authorization, per AWS Signature Version 4. Every header given is signed."""
    parts = urlsplit(url)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    day = stamp[:8]
    signed = {name.lower(): " ".join(value.strip().split()) for name, value in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = stamp
    if credentials.token:
        signed["x-amz-security-token"] = credentials.token
    names = sorted(signed)
    query = "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                            for k, _, v in (pair.partition("=") for pair in parts.query.split("&") if pair)))
    canonical = "\n".join([
        method,
        quote(parts.path or "/", safe="/-_.~"),
        query,
        "".join(f"{name}:{signed[name]}\n" for name in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + credentials.secret_key).encode(), day), region), service),
                "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = dict(headers)
    out["Host"] = parts.netloc
    out["X-Amz-Date"] = stamp
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return out


def endpoint(env: Mapping[str, str], service_id: str, host_prefix: str, region: str) -> str:
    """The AWS SDKs' rule: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the regional endpoint."""
    specific = env.get("AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_"), "")
    return (specific or env.get("AWS_ENDPOINT_URL", "") or f"https://{host_prefix}.{region}.amazonaws.com").rstrip("/")


def call_json(url: str, service: str, target: str, payload: dict[str, object], credentials: Credentials,
              region: str, timeout: float = 5.0) -> dict[str, object]:
    """One AWS JSON-1.1 call (POST /, X-Amz-Target). Raises AwsError with the service's error type."""
    import http.client

    body = json.dumps(payload).encode()
    headers = sign("POST", url + "/", {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
                   body, credentials, region, service)
    parts = urlsplit(url)
    if parts.scheme == "https":
        try:
            import ssl
        except ImportError:
            raise AwsError("this build of reweb has no TLS; set AWS_ENDPOINT_URL* to an http endpoint") from None
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.netloc, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
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

