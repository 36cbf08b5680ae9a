"""docs/performance.md's measured sections and the app guides' cold-start paragraphs are generated from recorded
results (tools/perf_doc.py): keep them in step, and keep the recording complete."""

import json
import re

import pytest
from tools import perf_doc


def test_generated_regions_match_the_recorded_results() -> None:
    stale = [str(path.relative_to(perf_doc.ROOT)) for path, text in perf_doc.targets().items()
             if path.read_text(encoding="utf-8") != text]
    assert not stale, f"run: python3 tools/perf_doc.py --write ({', '.join(stale)})"


def test_every_guide_with_a_cold_start_section_has_the_generated_paragraph() -> None:
    cold = json.loads(perf_doc.COLD_RESULTS.read_text(encoding="utf-8"))
    missing = [guide.name for guide in sorted(perf_doc.APPS_DIR.glob("*.md"))
               if "## Cold start" in guide.read_text(encoding="utf-8")
               and perf_doc.COLD_MARKS[0] not in guide.read_text(encoding="utf-8")]
    assert not missing
    for guide in perf_doc.APPS_DIR.glob("*.md"):
        if perf_doc.COLD_MARKS[0] in guide.read_text(encoding="utf-8"):
            assert guide.stem in cold["apps"], f"{guide.name} has a cold-start region but no recorded result"


def test_the_side_by_side_recording_measured_re_web_and_both_reweb_builds() -> None:
    result = json.loads(perf_doc.SIDE_RESULTS.read_text(encoding="utf-8"))
    assert set(result["runtimes"]) == {"reweb-go", "pip", "exe"}
    assert result["machine"]["load_during"] and result["when"] and result["commit"]
    for _, metric, _, _ in perf_doc.ROWS:
        for key in result["runtimes"]:
            assert len(result["values"][metric][key]) == result["rounds"], (metric, key)
    assert not result["problems"], result["problems"]


def test_performance_doc_quotes_no_re_web_figure() -> None:
    text = perf_doc.PERF_DOC.read_text(encoding="utf-8")
    assert "quoted, not measured" not in text
    assert not re.search(r"re:Web[^.\n]*spends about \d", text)


def test_splice_replaces_only_the_region() -> None:
    marks = ("<!-- a:start -->", "<!-- a:end -->")
    text = f"before\n{marks[0]}\nold\n{marks[1]}\nafter\n"
    assert perf_doc.splice(text, marks, "new") == f"before\n{marks[0]}\nnew\n{marks[1]}\nafter\n"
    with pytest.raises(ValueError, match="markers"):
        perf_doc.splice("no markers", marks, "new")


def test_a_cell_shows_median_spread_and_ratio() -> None:
    assert perf_doc._cell([300.0, 100.0, 200.0], "us", reference=400.0) == "200 (100-300) us, **0.50x**"
    assert perf_doc._cell([12_000.0, 14_000.0], "us") == "13.0 (12.0-14.0) ms"
    assert perf_doc._cell([4_702.0, 4_124.0, 5_202.0], "us") == "4.70 (4.12-5.20) ms"
    assert perf_doc._cell(None, "us") == "-"


def test_the_header_claims_a_recording_only_for_a_recorded_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(perf_doc.ROOT / "bench"))
    import sidebyside

    recorded = json.loads(perf_doc.SIDE_RESULTS.read_text(encoding="utf-8"))
    shown: list[str] = []
    written: list[object] = []
    monkeypatch.setattr(sidebyside, "run", lambda *args: dict(recorded))
    monkeypatch.setattr(sidebyside, "show", lambda result: shown.append(perf_doc.render_perf(result)))
    monkeypatch.setattr(sidebyside, "record", written.append)
    monkeypatch.setattr(perf_doc, "main", lambda argv: 0)  # --record regenerates the docs: not here
    sidebyside.main(["--quick"])
    assert not written and "--record" not in shown[-1] and "Recorded by" not in shown[-1], shown[-1][:300]
    assert f"`{recorded['command']}`" in shown[-1]  # still says how it was measured
    sidebyside.main(["--quick", "--record"])
    assert written and f"Recorded by `{recorded['command']} --record`" in shown[-1]
