"""One registry of front doors (reweb.frontdoors): the events, the emulator's gateways and `reweb init` agree with
it, every spelling the CLI took before it is still taken, and the adapter loads it without the emulator."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reweb import events, frontdoors
from reweb.frontdoors import FRONT_DOORS, NAMES, find
from reweb.local import options
from reweb.local.gateways import GATEWAYS, Context, Inbound, gateway_for
from reweb.scaffold import ScaffoldError, make_plan, parser

ROOT = Path(__file__).resolve().parents[2]
CTX = Context(request_id="c0ffee00-0000-4000-8000-000000000001", time_epoch_ms=1783711145766,
              trace_id="Root=1-6a5145a9-1bae89e2512ec92d5d9438a0", host="127.0.0.1:3000", port=3000)
KINDS = {kind.name: kind for kind in events.KINDS}


@pytest.mark.parametrize("door", FRONT_DOORS, ids=NAMES)
def test_each_emulated_gateway_is_its_registry_entry(door: frontdoors.FrontDoor) -> None:
    gateway = GATEWAYS[door.name](False)
    assert (gateway.streams, gateway.max_result) == (door.streams, door.response_limit)
    # What the emulated door sends is read by the adapter as the kind the registry names.
    assert events.detect(gateway.build_event(Inbound("GET", "/"), CTX)).name == door.kind


def test_every_front_door_has_a_gateway_and_nothing_else_does() -> None:
    assert set(GATEWAYS) == set(NAMES)


@pytest.mark.parametrize("door", FRONT_DOORS, ids=NAMES)
def test_each_kind_carries_its_front_doors_limit_and_streaming(door: frontdoors.FrontDoor) -> None:
    kind = KINDS[door.kind]
    assert kind.http and kind.response_limit == door.response_limit
    if door.streams:
        assert kind.prelude is not None


def test_the_limits_are_what_aws_documents() -> None:
    assert events.LAMBDA_LIMIT == 6 * 1024 * 1024 and events.ALB_LIMIT == 1024 * 1024
    assert {door.name for door in FRONT_DOORS if door.response_limit == events.ALB_LIMIT} == {"alb", "alb-multi"}
    assert {door.name for door in FRONT_DOORS if door.streams} == {"function-url", "rest-api"}


def test_each_template_exists_and_terraform_knows_its_name() -> None:
    variables = (ROOT / "deploy" / "terraform" / "modules" / "reweb" / "variables.tf").read_text()
    allowed = re.search(r'contains\((\[[^]]*\]), var\.front_door\)', variables)
    assert allowed, "front_door's validation in variables.tf"
    for door in FRONT_DOORS:
        template = (ROOT / "deploy" / "sam" / door.template).read_text()
        # reweb init sets the Streaming parameter of the doors that stream: their templates have it, only theirs.
        assert ("\n  Streaming:\n" in template) == door.streams, door
        assert f'"{door.terraform}"' in allowed.group(1), door


# Every spelling each CLI took before the registry, and the front door it meant.
LOCAL_BEFORE = {"http-api": "http-api", "rest": "rest-api", "function-url": "function-url", "alb": "alb",
                "alb-multi": "alb-multi", "lattice": "lattice"}
INIT_BEFORE = {"function-url": "function-url", "http-api": "http-api", "rest-api": "rest-api", "alb": "alb",
               "alb-multi": "alb-multi", "lattice": "lattice", "rest": "rest-api", "url": "function-url",
               "alb-multi-value": "alb-multi", "vpc-lattice": "lattice"}


@pytest.mark.parametrize("spelling", sorted(LOCAL_BEFORE))
def test_reweb_local_takes_every_source_it_took(spelling: str) -> None:
    opts = options.parse(["--source", spelling, "--", "app"], env={})
    assert opts.source == spelling
    gateway = gateway_for(spelling)
    meant = find(LOCAL_BEFORE[spelling])
    assert meant is not None
    assert events.detect(gateway.build_event(Inbound("GET", "/"), CTX)).name == meant.kind


@pytest.mark.parametrize("spelling", sorted(INIT_BEFORE))
def test_reweb_init_takes_every_front_door_it_took(spelling: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = make_plan(parser().parse_args(["--front-door", spelling]), ["python3", "app.py"])
    assert plan.front_door == INIT_BEFORE[spelling]


def test_both_commands_take_each_others_spelling_of_rest() -> None:
    """`reweb local --source rest-api`, the name `reweb init` and the templates use, is the REST API too."""
    assert type(gateway_for("rest-api")) is type(gateway_for("rest"))
    assert options.parse(["--source", "rest-api", "--stream", "--", "app"], env={}).stream


def test_streaming_is_refused_where_the_registry_says_the_door_cannot(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for door in FRONT_DOORS:
        local_args = ["--source", door.name, "--stream", "--", "app"]
        init_args = parser().parse_args(["--front-door", door.name, "--stream"])
        if door.streams:
            assert options.parse(local_args, env={}).stream
            assert make_plan(init_args, ["python3", "app.py"]).stream
        else:
            with pytest.raises(options.UsageError, match="cannot carry Lambda response streaming"):
                options.parse(local_args, env={})
            with pytest.raises(ScaffoldError, match="--stream"):
                make_plan(init_args, ["python3", "app.py"])


def test_an_unknown_name_is_refused_by_both() -> None:
    with pytest.raises(ValueError, match="unknown source 'cloudfront'"):
        gateway_for("cloudfront")
    with pytest.raises(SystemExit):
        options.parse(["--source", "cloudfront", "--", "app"], env={})
    assert find("cloudfront") is None


def test_the_adapter_loads_the_registry_without_the_emulator_or_reweb_init() -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import reweb.events, reweb.frontdoors; "
            "print('\\n'.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-I", "-S", "-c", code, str(ROOT / "src")], check=True,
                                capture_output=True, text=True).stdout.split())
    assert "reweb.frontdoors" in loaded
    assert not {name for name in loaded if name.startswith(("reweb.local", "reweb.scaffold", "aiohttp"))}
    assert not loaded & {"dataclasses", "typing"}
