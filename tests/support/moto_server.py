"""moto's server for the tests that talk to S3, SSM or Secrets Manager: on a loopback port of its own, for as long
as the `with` lasts (its backends are per process: each module makes its own buckets and parameters)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from tests.support.rie import free_port


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1; yields its URL (the functions' AWS_ENDPOINT_URL_*)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(service: str, url: str, region: str) -> Any:
    """A boto3 client of moto's server at `url` (the tests' own, with moto's any-key credentials)."""
    return boto3.client(service, endpoint_url=url, region_name=region, aws_access_key_id="a",
                        aws_secret_access_key="b")


def bucket(url: str, name: str, region: str) -> None:
    """An S3 bucket `name` in `region` on moto's server at `url`."""
    client("s3", url, region).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
