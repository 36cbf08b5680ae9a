"""The `reweb` command line: help and option errors answer anywhere, before anything needs Lambda."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from reweb.cli import USAGE, main, parse_args
from reweb.config import FLAGS, SPECS, ConfigError, load


def test_help_works_outside_lambda(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: reweb") and "--wait-code" in out and "reweb local --help" in out


def test_unknown_option_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["--bogus"])
    assert str(exit_.value.code).startswith("reweb: unknown option --bogus")


def test_outside_lambda_says_what_to_do() -> None:
    # A process of its own: the adapter's end is _exit (cli.end_process), which would end pytest too.
    outside = ("AWS_LAMBDA_RUNTIME_API", "AWS_LWA_LAMBDA_RUNTIME_API_PROXY")
    env = {name: value for name, value in os.environ.items() if name not in outside}
    result = subprocess.run([sys.executable, "-m", "reweb", "--", "true"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "AWS_LAMBDA_RUNTIME_API is not set" in result.stderr + result.stdout


@pytest.mark.parametrize(("argv", "overrides", "command"), [
    (["--port", "9000", "--", "srv", "-x"], {"port": "9000"}, ("srv", "-x")),
    (["--wait-code=200-399", "--debug", "srv"], {"wait_codes": "200-399", "debug": "true"}, ("srv",)),
    (["--readiness-protocol", "tcp", "--remove-base-path", "/api"],
     {"readiness_protocol": "tcp", "remove_base_path": "/api"}, ()),
])
def test_options_and_command(argv: list[str], overrides: dict[str, str], command: tuple[str, ...]) -> None:
    assert parse_args(argv) == (overrides, command)


def test_a_bad_value_names_the_option_given() -> None:
    overrides, command = parse_args(["--wait-code", "abc", "--", "srv"])
    with pytest.raises(ConfigError, match=r"^--wait-code: ") as error:
        load({}, overrides, command)
    assert "--wait-codes" not in str(error.value)


def test_every_option_in_the_usage_sets_a_field_and_back() -> None:
    """config.SPECS is the one home of the option names: the usage text, the parser and the errors follow it."""
    listed = set(re.findall(r"^ {2}(?:-\w, )?(--[a-z-]+)", USAGE, re.MULTILINE)) - {"--version", "--help"}
    assert listed == set(FLAGS)
    fields = {spec.field: spec for spec in SPECS}
    for flag, field in FLAGS.items():
        assert fields[field].flag == flag
        given = [flag] if field == "debug" else [flag, "x"]
        assert parse_args([*given, "--", "srv"])[0] == {field: "true" if field == "debug" else "x"}
        if field != "debug":  # "x" is a bad value for every option that takes one; the error names the option
            with pytest.raises(ConfigError, match=f"^{re.escape(flag)}: "):
                load({}, {field: "x"}, ("srv",))


def test_option_without_value_is_an_error() -> None:
    with pytest.raises(SystemExit, match="--port needs a value"):
        parse_args(["--port"])


def test_init_budget_counts_from_process_start() -> None:
    """Async init's 9.8 s are Lambda's 10 s of init, which start with the process, not with reweb's first line."""
    code = "import time; time.sleep(0.4); from reweb.cli import process_age; print(process_age())"
    age = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert 0.4 <= age < 3.0


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from reweb import __version__

    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main([flag])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"reweb {__version__}\n"


def test_every_help_ends_with_a_newline() -> None:
    for args in (["--help"], ["local", "--help"]):
        result = subprocess.run([sys.executable, "-m", "reweb", *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and result.stdout.endswith("\n") and not result.stdout.endswith("\n\n\n")
