"""What happened, passed between processes as fields, not words: log.parse reads back the records log.Log writes,
and the readers (`reweb init`'s check, `reweb local`'s init-error header) take the fields, so rewording a message
breaks nothing."""

from __future__ import annotations

import json

import pytest

from reweb import log
from reweb.local.server import init_failure_detail
from reweb.scaffold.check import other_port


@pytest.mark.parametrize("json_format", [True, False])
def test_a_record_reads_back_as_written(json_format: bool, capsys: pytest.CaptureFixture[str]) -> None:
    log.Log("INFO", json_format=json_format).error("the app exited before it was ready", request_id="r-1",
                                                   reason="exited with status 3")
    line = capsys.readouterr().err.rstrip("\n")
    record = log.parse(line)
    assert record is not None, line
    assert (record["level"], record["message"], record["request_id"], record["reason"]) == \
        ("ERROR", "the app exited before it was ready", "r-1", "exited with status 3")


def test_json_keeps_the_fields_types(capsys: pytest.CaptureFixture[str]) -> None:
    log.Log("INFO", json_format=True).warn("anything at all", port=8000, listening=[9999, 9000])
    record = log.parse(capsys.readouterr().err)
    assert record is not None and (record["port"], record["listening"]) == (8000, [9999, 9000])


@pytest.mark.parametrize("line", ["", "no config", "[reweb]", "[reweb] LOUD message", '{"level": "ERROR"}',
                                  '{"logger": "app", "level": "ERROR", "message": "x"}', "[1, 2]", "{not json",
                                  "START RequestId: 1 Version: $LATEST"])
def test_other_lines_are_not_records(line: str) -> None:
    assert log.parse(line) is None


def warn(text: str, **fields: object) -> str:
    return json.dumps({"timestamp": "2026-01-01T00:00:00Z", "level": "WARN", "logger": "reweb", "message": text,
                       **fields})


def test_init_reads_the_other_port_from_the_fields_whatever_the_words() -> None:
    output = "\n".join(["reweb local: serving http://127.0.0.1:3000/", "[1] starting",
                        "[1] " + warn("the app is somewhere else entirely", port=8000, listening=[9999, 9000])])
    assert other_port(output, 8000) == 9999
    assert other_port(output, 9999) is None  # the record is about another port
    assert other_port("[1] nothing listens on port 8000, but the app listens on 9999", 8000) is None


@pytest.mark.parametrize("json_format", [True, False])
def test_the_init_error_header_takes_the_reason_field(json_format: bool, capsys: pytest.CaptureFixture[str]) -> None:
    log.Log("INFO", json_format=json_format).error("reworded: it went away", reason="exited with status 3")
    adapter_line = capsys.readouterr().err.rstrip("\n")
    cause = "\n".join(["no config", adapter_line, ""])
    assert init_failure_detail("Runtime.ExitError", cause) == \
        "Runtime.ExitError: exited with status 3; the app's last output: no config"


def test_the_init_error_header_without_a_reason_or_output() -> None:
    assert init_failure_detail("Runtime.InitTimeout", "") == "Runtime.InitTimeout:"
    assert init_failure_detail("Runtime.ExitError", "boom: DATABASE_URL is not set\n") == \
        "Runtime.ExitError: the app's last output: boom: DATABASE_URL is not set"
