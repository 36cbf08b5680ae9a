"""reweb's SigV4 signer against botocore's, the oracle: the same Authorization for generated requests."""

from __future__ import annotations

import botocore.auth as botocore_auth
import botocore.awsrequest as botocore_awsrequest
import botocore.credentials as botocore_credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from reweb.aws import Credentials, endpoint, sign

NOW = 1_764_500_000.0  # a fixed instant: both signers see the same clock


def oracle(method: str, url: str, headers: dict[str, str], body: bytes, creds: Credentials, region: str,
           service: str) -> str:
    import datetime
    from unittest import mock

    request = botocore_awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = botocore_auth.SigV4Auth(
        botocore_credentials.Credentials(creds.access_key, creds.secret_key, creds.token or None), service, region)
    fixed = datetime.datetime.fromtimestamp(NOW, datetime.UTC).replace(tzinfo=None)
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=fixed):
        signer.add_auth(request)
    return str(request.headers["Authorization"])


header_value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(target=st.sampled_from(["AmazonSSM.GetParameters", "secretsmanager.GetSecretValue"]),
       body=st.binary(max_size=200), token=st.sampled_from(["", "FQoGZXIvYXdzEJr//token+/="]),
       region=st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"]),
       service=st.sampled_from(["ssm", "secretsmanager"]),
       host=st.sampled_from(["ssm.eu-west-1.amazonaws.com", "127.0.0.1:5000"]),
       extra=st.dictionaries(st.sampled_from(["X-Custom", "X-Amz-Meta-A"]), header_value, max_size=2))
def test_the_signature_is_botocore_s(target: str, body: bytes, token: str, region: str, service: str, host: str,
                                     extra: dict[str, str]) -> None:
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    url = f"https://{host}/"
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **extra}
    ours = sign("POST", url, headers, body, creds, region, service, now=NOW)
    assert ours["Authorization"] == oracle("POST", url, headers, body, creds, region, service)


def test_endpoints_follow_the_sdks_rule() -> None:
    assert endpoint({}, "SSM", "ssm", "eu-west-1") == "https://ssm.eu-west-1.amazonaws.com"
    assert endpoint({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000/"}, "SSM", "ssm", "x") == "http://127.0.0.1:5000"
    env = {"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://b"}
    assert endpoint(env, "Secrets Manager", "secretsmanager", "x") == "http://b"
    assert endpoint(env, "SSM", "ssm", "x") == "http://a"


def s3_oracle(method: str, url: str, headers: dict[str, str], body: bytes, creds: Credentials, region: str) -> str:
    import datetime
    from unittest import mock

    request = botocore_awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = botocore_auth.S3SigV4Auth(
        botocore_credentials.Credentials(creds.access_key, creds.secret_key, creds.token or None), "s3", region)
    fixed = datetime.datetime.fromtimestamp(NOW, datetime.UTC).replace(tzinfo=None)
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=fixed):
        signer.add_auth(request)
    return str(request.headers["Authorization"])


s3_key = st.text(alphabet=st.sampled_from("abcXYZ019-_.~/ äö+=&%✓"), min_size=1, max_size=30)


@settings(max_examples=80, deadline=None)
@given(key=s3_key, body=st.binary(max_size=300), token=st.sampled_from(["", "FQoGZXIvYXdzEJr//token+/="]),
       operation=st.sampled_from(["", "uploads", "partNumber=3&uploadId=ab%2Bc~d", "uploadId=xyz"]),
       method=st.sampled_from(["PUT", "POST", "DELETE"]),
       host=st.sampled_from(["bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:5000/my-bucket"]),
       extra=st.dictionaries(st.sampled_from(["Content-Type", "Content-Disposition", "Cache-Control"]),
                             header_value, max_size=3))
def test_s3_requests_are_signed_as_botocore_signs_them(key: str, body: bytes, token: str, operation: str,
                                                       method: str, host: str, extra: dict[str, str]) -> None:
    """The offload's S3 calls: the path is encoded once and signed as it is, the payload hash is sent."""
    import hashlib
    from urllib.parse import quote

    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    url = f"http://{host}/{quote(key, safe='/-_.~')}" + (f"?{operation}" if operation else "")
    digest = hashlib.sha256(body).hexdigest()
    headers = {**extra, "x-amz-content-sha256": digest}
    ours = sign(method, url, headers, body, creds, "eu-west-1", "s3", now=NOW, payload_hash=digest)
    assert ours["Authorization"] == s3_oracle(method, url, headers, body, creds, "eu-west-1")


@settings(max_examples=60, deadline=None)
@given(key=s3_key, token=st.sampled_from(["", "FQoGZXIvYXdzEJr//token+/="]),
       expires=st.integers(1, 604800), region=st.sampled_from(["us-east-1", "eu-central-1"]),
       base=st.sampled_from(["https://b.s3.eu-central-1.amazonaws.com", "https://s3.us-east-1.amazonaws.com/a.b",
                             "http://127.0.0.1:5000/bucket", "https://b.s3.us-east-1.amazonaws.com:443"]))
def test_presigned_urls_are_botocore_s(key: str, token: str, expires: int, region: str, base: str) -> None:
    import datetime
    from unittest import mock
    from urllib.parse import parse_qs, quote, urlsplit

    from reweb.aws import presign

    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    url = f"{base}/{quote(key, safe='/-_.~')}"
    ours = presign("GET", url, creds, region, "s3", expires, now=NOW)
    request = botocore_awsrequest.AWSRequest(method="GET", url=url)
    signer = botocore_auth.S3SigV4QueryAuth(
        botocore_credentials.Credentials(creds.access_key, creds.secret_key, creds.token or None), "s3", region,
        expires=expires)
    fixed = datetime.datetime.fromtimestamp(NOW, datetime.UTC).replace(tzinfo=None)
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=fixed):
        signer.add_auth(request)
    signed = request.url
    assert signed is not None
    theirs = parse_qs(urlsplit(signed).query)
    assert parse_qs(urlsplit(ours).query) == theirs
    assert urlsplit(ours).path == urlsplit(signed).path
