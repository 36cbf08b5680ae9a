"""docs/load-test.md's figures are generated from the recorded load test (tools/load_doc.py): keep them in step, and
keep the recording complete and of reweb local's current scaling model."""

import json
from typing import Any

import pytest
from tools import load_doc


def recording() -> dict[str, Any]:
    doc = json.loads(load_doc.RESULTS.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), type(doc)
    return doc


def test_the_doc_is_what_the_recording_says() -> None:
    doc = load_doc.DOC.read_text(encoding="utf-8")
    assert load_doc.render(doc, recording()) == doc, "run: python3 tools/load_doc.py --write"


def test_wordpress_was_measured_at_1_4_and_8_at_least_twice_each_with_when_and_load() -> None:
    result = recording()
    assert result["commit"] and result["began"] and result["ended"] and result["command"]
    runs = load_doc.groups(result)
    for n in (1, 4, 8):
        assert len(runs.get(("wordpress", n), [])) >= 2, n
    for run in result["results"]:
        assert run["started"].startswith(result["began"][:10]), run["started"]
        assert run["loadavg_before"] > 0 and run["loadavg_after"][0] > 0
        assert 0 < run["cpu_busy_pct"] <= 100 and run["own_cpu_pct"] > 0


def test_the_recording_is_of_lambdas_scaling_model() -> None:
    # Every request that found no idle instance started one and was served by it: one cold start per instance
    # started, and with N connections N instances. (The earlier model's reweb local printed no instance count.)
    for run in recording()["results"]:
        assert run["instances_started"] == run["cold_starts"] == run["concurrency"], run["started"]
        assert len(run["init_ms"]) == run["cold_starts"]


def test_splice_replaces_only_the_region() -> None:
    marks = ("<!-- a:start -->", "<!-- a:end -->")
    text = f"before\n{marks[0]}\nold\n{marks[1]}\nafter\n"
    assert load_doc.splice(text, marks, "new") == f"before\n{marks[0]}\nnew\n{marks[1]}\nafter\n"
    with pytest.raises(ValueError, match="markers"):
        load_doc.splice("no markers", marks, "new")


def test_spread_shows_median_and_range() -> None:
    assert load_doc.spread([3.0, 1.0, 2.0], load_doc.ms) == "2.0 (1.0-3.0)"
    assert load_doc.spread([150.0], load_doc.ms) == "150"
