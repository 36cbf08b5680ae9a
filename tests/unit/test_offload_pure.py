"""offload.py's pure helpers, without S3 or sockets: how a body is cut into parts, where the object lives, what is
read out of S3's XML answers. tests/integration/test_offload*.py runs the same code against moto's S3."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from unit_helpers import SETTINGS

from reweb.http import HttpResponse
from reweb.offload import Offload, _describe, _drain, _http_date, _quoted, _take_body, _xml_text, blocks


@SETTINGS
@given(st.lists(st.binary(max_size=40), max_size=20), st.integers(1, 17))
def test_blocks_are_the_same_bytes_in_blocks_of_exactly_size(chunks: list[bytes], size: int) -> None:
    out = list(blocks(iter(chunks), size))
    assert b"".join(out) == b"".join(chunks)
    assert all(len(block) == size for block in out[:-1])
    assert all(0 < len(block) <= size for block in out)  # never an empty block, even for empty chunks


def test_no_chunks_make_no_block() -> None:
    assert list(blocks([], 5)) == [] and list(blocks([b"", b""], 5)) == []


def test_drain_yields_the_queue_then_the_rest_and_empties_the_queue() -> None:
    queue = [b"a", b"b"]
    assert list(_drain(queue, iter([b"c"]))) == [b"a", b"b", b"c"] and queue == []


def test_take_body_moves_the_body_out_of_the_response_then_reads_its_stream() -> None:
    response = HttpResponse(200, [], b"head-", stream=iter([b"rest"]))
    body = _take_body(response)
    assert next(body) == b"head-" and response.body == b""  # the upload holds the only copy
    assert list(body) == [b"rest"]


def offload(setting: str, env: dict[str, str] | None = None) -> Offload:
    return Offload(setting, 300, env or {})


def test_object_url_at_aws_is_virtual_hosted() -> None:
    assert (offload("my-bucket/answers").object_url("answers/req 1", "eu-west-1")
            == "https://my-bucket.s3.eu-west-1.amazonaws.com/answers/req%201")


def test_object_url_of_a_bucket_with_dots_is_path_style() -> None:
    # A TLS certificate's wildcard covers one label: a.b.s3... would not match *.s3...
    assert (offload("a.b-c").object_url("k", "us-east-1") == "https://s3.us-east-1.amazonaws.com/a.b-c/k")


def test_object_url_at_a_custom_endpoint_is_path_style_and_s3s_own_endpoint_wins() -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1/", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2/"}
    assert offload("bucket", env).object_url("p/k~x", "r") == "http://127.0.0.1:2/bucket/p/k~x"
    assert offload("bucket", {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}).object_url("k", "r") == \
        "http://127.0.0.1:1/bucket/k"


def test_the_prefix_is_parsed_from_the_setting() -> None:
    made = offload("bucket//deep/prefix/")
    assert (made.bucket, made.prefix) == ("bucket", "deep/prefix/")
    assert offload("bucket").prefix == ""


def test_xml_text_reads_the_first_element_with_or_without_a_namespace_prefix_and_unescapes() -> None:
    answer = (b'<?xml version="1.0"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
              b"<Bucket>b</Bucket><s3:UploadId>a&amp;b&lt;c&gt;&quot;&apos;</s3:UploadId>"
              b"<UploadId>second</UploadId></InitiateMultipartUploadResult>")
    assert _xml_text(answer, "UploadId") == "a&b<c>\"'"
    assert _xml_text(answer, "Missing") == ""


def test_xml_text_does_not_unescape_twice() -> None:
    assert _xml_text(b"<Code>&amp;lt;</Code>", "Code") == "&lt;"


def test_describe_names_code_and_message_and_is_bounded() -> None:
    assert _describe(b"<Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>") == "NoSuchBucket: gone"
    assert _describe(b"<Error><Code>SlowDown</Code></Error>") == "SlowDown"
    assert _describe(b"not xml at all") == "no error description"
    assert len(_describe(b"<Code>C</Code><Message>" + b"m" * 1000 + b"</Message>")) == 300


def test_quoted_leaves_a_token_bare_and_quotes_anything_else() -> None:
    assert _quoted("report.pdf") == "report.pdf"
    assert _quoted("a b") == '"a b"' and _quoted('say "hi"\\') == '"say \\"hi\\"\\\\"' and _quoted("") == '""'


def test_http_date() -> None:
    assert _http_date("Wed, 21 Oct 2015 07:28:00 GMT") and not _http_date("tomorrow") and not _http_date("0")
