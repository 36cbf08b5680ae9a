"""The dashboard at /__reweb/ and the summary printed at Ctrl-C.

The browser test drives Debian's headless Chromium over the DevTools protocol (tests/support/cdp.py: aiohttp's
WebSocket client, nothing downloaded): real traffic (cold, warm, an error, an instance killed), the page loaded,
its rendered DOM checked against the traffic, every request the page made checked to be to 127.0.0.1, a
screenshot saved.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from reweb.local.dashboard import Stats, addressed_to_us, money, percentile, summary_lines
from reweb.local.options import Options
from reweb.local.ports import free_port
from reweb.local.report import Logger
from tests.support.cdp import chromium, open_page
from tests.support.http_client import fetch
from tests.support.localharness import FAKE_RUNTIME, Local, descendants, state, wait_state

pytestmark = pytest.mark.timeout(120)

Run = Callable[..., Local]
ROOT = Path(__file__).resolve().parents[2]
SHOT_DIR = ROOT / "build" / "test-output"
DOCS_IMG = ROOT / "docs" / "img" / "reweb-local-dashboard.png"


def states(doc: dict[str, Any]) -> dict[int, str]:
    return {i["number"]: i["state"] for i in doc["instances"]}


# ---- the figures, without any process --------------------------------------------------------------------


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50, 95, 99)
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) is None
    assert (percentile([1.0, 2.0, 3.0], 50), percentile([1.0, 2.0, 3.0], 95)) == (2.0, 3.0)


def test_money() -> None:
    assert [money(v) for v in (0, 1234.5, 0.2, 0.0000317, 0.000001404)] == [
        "$0", "$1,234.50", "$0.20", "$0.0000317", "$0.00000140"]


def test_summary_figures_and_cost_per_million() -> None:
    out = io.StringIO()
    log = Logger(out)
    stats = Stats(Options(memory=512))
    stats.watch(log)
    for i in range(10):
        stats.request_started(f"r{i}", "GET", f"/p{i}")
    # Two cold starts (their billed duration includes the init), eight warm ones; one timed out.
    log.report("r0", duration_ms=20.0, memory_mb=512, max_used_mb=40, init_ms=480.0)
    log.report("r1", duration_ms=30.0, memory_mb=512, max_used_mb=41, init_ms=520.0)
    for i in range(2, 9):
        log.report(f"r{i}", duration_ms=float(i), memory_mb=512, max_used_mb=38)
    log.report("r9", duration_ms=1000.0, memory_mb=512, max_used_mb=60, status="timeout")
    log.init_report(1000.0, "timeout")
    s = stats.summary()
    assert (s.invocations, s.cold_starts, s.errors, s.max_memory_mb) == (10, 2, 1, 60)
    # Durations 2..8, 20, 30, 1000: nearest rank p50 is the 5th (6), p95 and p99 the 10th.
    assert (s.p50_ms, s.p95_ms, s.p99_ms) == (6.0, 1000.0, 1000.0)
    billed = 500 + 550 + sum(range(2, 9)) + 1000
    assert s.billed_ms == billed
    assert s.gb_seconds == pytest.approx(billed / 1000 * 0.5)
    per_million = 0.20 + billed / 1000 * 0.5 * 0.0000166667 / 10 * 1e6
    assert s.cost_per_million == pytest.approx(per_million)
    lines = summary_lines(s)
    assert lines[0] == "summary: 10 invocations, 2 cold starts, 1 error, at 512 MB"
    assert lines[1] == "  duration p50 6.00 ms, p95 1000.00 ms, p99 1000.00 ms, max 1000.00 ms"
    assert lines[2] == f"  max memory used 60 MB of 512 MB; billed duration {billed} ms in all"
    assert lines[3] == "  init durations: 480.00, 520.00 ms (min 480.00, max 520.00)"
    assert lines[4] == "  failed inits: 1 (timeout after 1000.00 ms)"
    assert f"  estimated cost per million requests like these: ${per_million:.2f}" in lines
    assert "public price list as of 2026-11" in lines[-1] and "$0.0000166667 per GB-second" in lines[-1]
    assert stats.rows["r9"].error == "Sandbox.Timedout" and stats.rows["r0"].init_ms == 480.0
    assert out.getvalue().count("REPORT RequestId") == 10  # the lines are still written


def test_the_dashboards_host_rule() -> None:
    assert addressed_to_us(["127.0.0.1:3000"], [], 3000) and addressed_to_us(["[::1]:3000"], [], 3000)
    assert addressed_to_us(["localhost:3000"], ["http://LOCALHOST:3000"], 3000)
    assert addressed_to_us(["localhost"], ["http://127.0.0.1"], 80)  # a browser leaves port 80 out
    assert not addressed_to_us(["localhost"], [], 3000) and not addressed_to_us([], [], 3000)
    assert not addressed_to_us(["127.0.0.1:3000", "127.0.0.1:3000"], [], 3000)  # one Host, not two
    for origin in ("null", "http://evil.example", "https://127.0.0.1:3000", "http://127.0.0.1:3001"):
        assert not addressed_to_us(["127.0.0.1:3000"], [origin], 3000), origin


def test_summary_without_traffic() -> None:
    s = Stats(Options()).summary()
    assert summary_lines(s) == ["summary: no invocation (0 requests at the front door)"]
    assert s.cost_per_million is None


# ---- the state, through a real reweb local ---------------------------------------------------------------


@pytest.mark.integration
def test_instance_states_errors_and_the_reserved_prefix(run_local: Run) -> None:
    local = run_local(["--concurrency", "2", "--timeout", "1"], runtime=FAKE_RUNTIME, app=["unused"],
                      env={"FAKE_INIT": "slow:1.5"})
    local.wait_for("dashboard: http://127.0.0.1:")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(fetch, local.port, "/echo")
        doc = wait_state(local, lambda d: "initializing" in states(d).values(), timeout=5)
        assert doc["live_instances"] == 1
        assert first.result().status == 200
    doc = wait_state(local, lambda d: states(d) == {1: "frozen"})
    [row] = doc["invocations"]
    assert (row["method"], row["path"], row["status"], row["cold"], row["instance"]) == ("GET", "/echo", 200, True,
                                                                                          1)
    assert row["init_ms"] >= 1400 and row["billed_ms"] >= row["init_ms"] + row["duration_ms"]
    assert fetch(local.port, "/crash").status == 500
    doc = wait_state(local, lambda d: states(d) == {1: "dead"})
    assert doc["instances"][0]["detail"] == "runtime exited: exit status 1"
    crash = doc["invocations"][-1]
    assert (crash["path"], crash["status"], crash["error"], crash["cold"]) == ("/crash", 500, "Runtime.ExitError",
                                                                               False)
    assert fetch(local.port, "/error").status == 500  # a new instance, cold, and a function error
    doc = wait_state(local, lambda d: states(d) == {1: "dead", 2: "frozen"} and len(d["invocations"]) == 3)
    assert doc["invocations"][-1]["error"] == "Bad" and doc["invocations"][-1]["cold"] is True
    assert doc["summary"]["invocations"] == 3 and doc["summary"]["errors"] == 2
    # Incremental: only what changed since a version.
    assert state(local)["invocations"] and not fetch_since(local, doc["version"])["invocations"]
    assert fetch(local.port, "/sleep/3").status == 500  # over the 1 s timeout: the instance is killed
    doc = wait_state(local, lambda d: states(d) == {1: "dead", 2: "dead"} and d["invocations"][-1]["reported"])
    assert doc["instances"][1]["detail"] == "killed: function timeout"
    assert doc["invocations"][-1]["error"] == "Sandbox.Timedout" and doc["invocations"][-1]["instance"] == 2

    # The reserved prefix never reaches the app, and says so. (The log is read by a thread: wait until it holds
    # every invocation's START before counting, or a late line would look like a new invocation.)
    local.wait_for("START RequestId", count=doc["summary"]["invocations"])
    starts = local.count("START RequestId")
    r = fetch(local.port, "/__reweb")
    assert (r.status, r.one("location")) == (302, "/__reweb/")
    r = fetch(local.port, "/__reweb/")
    assert r.status == 200 and r.one("content-type") == "text/html; charset=utf-8"
    csp = r.one("content-security-policy") or ""
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    r = fetch(local.port, "/__reweb/nothing-here")
    assert r.status == 404 and b"reserved for the dashboard" in r.body and b"REWEB_LOCAL_DASHBOARD=off" in r.body
    assert fetch(local.port, "/__reweb/", method="POST", body=b"x").status == 405
    assert local.count("START RequestId") == starts  # none of that was an invocation
    assert fetch(local.port, "/__rewebx").status == 200  # a neighbour of the prefix is the app's


@pytest.mark.integration
def test_dashboard_answers_only_a_host_that_names_its_address(run_local: Run) -> None:
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends Host: evil.example:PORT.
    The dashboard, its state (every query string seen, tokens included) and its page are refused; a page of
    another origin that names the right host is refused too (its Origin says where it comes from). The app's
    own routes keep any Host: apps get the Host the browser sent."""
    local = run_local([], runtime=FAKE_RUNTIME, app=["unused"])
    port = local.port
    assert fetch(port, "/login?token=s3cret").status == 200
    local.wait_for("REPORT RequestId")  # the log, read by a thread, has that invocation before anything is counted
    refused = [f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}", f"127.0.0.1:{port + 1}",
               f"localhost:{port}.evil.example", "localhost", "127.0.0.1", ""]
    for path in ("/__reweb/api/state", "/__reweb/api/state?since=0", "/__reweb/", "/__reweb", "/__reweb/nothing"):
        for host in refused:
            r = fetch(port, path, headers={"Host": host})
            assert r.status == 403 and b"s3cret" not in r.body, (path, host, r.status)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LocalHost:{port}"):
            assert fetch(port, path, headers={"Host": host}).status in (200, 302, 404), (path, host)
        r = fetch(port, path, headers={"Origin": "http://evil.example"})
        assert r.status == 403 and b"s3cret" not in r.body, path
    r = fetch(port, "/__reweb/api/state", headers={"Origin": f"http://localhost:{port}"})
    assert r.status == 200 and b"s3cret" in r.body and r.one("x-content-type-options") == "nosniff"
    assert local.count("START RequestId") == 1  # none of the refused requests went to the app either
    r = fetch(port, "/echo?token=x", headers={"Host": f"evil.example:{port}", "Origin": "http://evil.example"})
    assert r.status == 200 and json.loads(r.body)["headers"]["host"] == f"evil.example:{port}"


@pytest.mark.integration
def test_runtime_api_answers_only_its_own_address(run_local: Run) -> None:
    """With --network shared each instance's Runtime API listens on this machine's loopback, where a page could
    reach it by DNS rebinding too, and /next hands out the next event (query strings, cookies, Authorization)."""
    local = run_local(["--network", "shared", "--app-port", str(free_port())], runtime=FAKE_RUNTIME, app=["unused"])
    assert fetch(local.port, "/first").status == 200
    [address] = {env["AWS_LAMBDA_RUNTIME_API"] for pid in descendants(local.proc.pid)
                 if "AWS_LAMBDA_RUNTIME_API" in (env := environ(pid))}
    api_port = int(address.rpartition(":")[2])
    for host in (f"evil.example:{api_port}", "evil.example", f"127.0.0.1:{api_port + 1}", ""):
        r = fetch(api_port, "/2018-06-01/runtime/invocation/next", headers={"Host": host}, timeout=5)
        assert r.status == 403 and json.loads(r.body)["errorType"] == "Forbidden", host
    r = fetch(local.port, "/second?token=s3cret")  # the event goes to the runtime, no one else
    assert r.status == 200 and json.loads(r.body)["rawQueryString"] == "token=s3cret"
    local.wait_for("Runtime API refused (403)")


def environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.decode("utf-8", "replace").partition("=")[::2] for item in raw.split(b"\0") if b"=" in item)


def fetch_since(local: Local, version: int) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(fetch(local.port, f"/__reweb/api/state?since={version}").body)
    return doc


@pytest.mark.integration
def test_dashboard_off_gives_the_prefix_to_the_app(run_local: Run) -> None:
    local = run_local([], runtime=FAKE_RUNTIME, app=["unused"], env={"REWEB_LOCAL_DASHBOARD": "off"})
    assert not local.count("dashboard:")
    r = fetch(local.port, "/__reweb/api/state")
    assert r.status == 200 and json.loads(r.body)["rawPath"] == "/__reweb/api/state"  # the fake echoes its event
    local.wait_for("REPORT RequestId")  # the log is read by a thread: the answer can come before its lines
    assert local.count("START RequestId") == 1
    local.stop()
    assert "reweb local: summary: 1 invocation, 1 cold start, 0 errors, at 1024 MB" in local.lines


@pytest.mark.integration
def test_summary_of_nothing_at_stop(run_local: Run) -> None:
    local = run_local([], runtime=FAKE_RUNTIME, app=["unused"])
    assert local.stop() == 0
    assert local.lines[-1] == "reweb local: summary: no invocation (0 requests at the front door)"


# ---- the page in a real browser, and the Ctrl-C summary of the same traffic -------------------------------


READ_PAGE = """(() => {
  const text = sel => [...document.querySelectorAll(sel)].map(n => n.textContent);
  return {
    rows: [...document.querySelectorAll('#invocations tbody tr')].map(tr => ({
      id: tr.dataset.id, status: tr.dataset.status, start: tr.dataset.start, error: tr.classList.contains('error'),
      cells: [...tr.cells].map(td => td.textContent)})),
    instances: [...document.querySelectorAll('#instances tbody tr')].map(tr => ({
      number: Number(tr.dataset.instance), state: tr.dataset.state, cells: [...tr.cells].map(td => td.textContent)})),
    cards: Object.fromEntries([...document.querySelectorAll('.card')].map(c => [c.dataset.k,
                                                                                c.querySelector('.v').textContent])),
    cost: Object.fromEntries([...document.querySelectorAll('#cost dd')].map(d => [d.dataset.k, d.textContent])),
    prices: document.getElementById('prices').textContent,
    summary: document.getElementById('summary').textContent,
    live: document.getElementById('live').textContent,
    points: document.querySelectorAll('#chart circle.lat, #chart circle.cold, #chart circle.err').length,
    height: document.documentElement.scrollHeight,
  };
})()"""


async def browse(url: str, shot: Path, while_open: Callable[[], None],
                 ready: Callable[[dict[str, Any]], bool]) -> tuple[dict[str, Any], list[str], list[str]]:
    """Open `url`, call while_open(), wait until ready(page); the page, the URLs it asked for, its errors."""
    async with open_page() as cdp:
        for domain in ("Network", "Page", "Runtime", "Log"):
            await cdp.call(f"{domain}.enable")
        await cdp.call("Page.navigate", url=url)
        await cdp.wait_event("Page.loadEventFired")
        await asyncio.get_running_loop().run_in_executor(None, while_open)
        deadline = time.monotonic() + 20
        page = await cdp.evaluate(READ_PAGE)
        while not ready(page):
            assert time.monotonic() < deadline, f"the page never showed the traffic:\n{page}"
            await asyncio.sleep(0.2)
            page = await cdp.evaluate(READ_PAGE)
        # The whole page in one picture, at the window's width.
        await cdp.call("Emulation.setDeviceMetricsOverride", width=1280,
                       height=min(int(page["height"]), 3000), deviceScaleFactor=1, mobile=False)
        await asyncio.sleep(0.3)
        png = await cdp.call("Page.captureScreenshot", format="png")
        shot.write_bytes(base64.b64decode(png["data"]))
        urls = [e["params"]["request"]["url"] for e in cdp.events
                if e["method"] == "Network.requestWillBeSent"]
        errors = [json.dumps(e["params"]) for e in cdp.events
                  if e["method"] == "Runtime.exceptionThrown"
                  or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        return page, urls, errors


@pytest.fixture
def shot_path() -> Iterator[Path]:
    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SHOT_DIR / "reweb-local-dashboard.png"
    path.unlink(missing_ok=True)
    yield path
    print(f"\nscreenshot of the dashboard: {path}")


@pytest.mark.integration
@pytest.mark.timeout(900)  # room for apt-get install chromium on a fresh machine; the test itself takes ~15 s
def test_dashboard_in_a_real_browser_and_the_ctrl_c_summary(run_local: Run, shot_path: Path) -> None:
    chromium()
    local = run_local(["--concurrency", "2", "--source", "http-api"], env={"REWEB_ERROR_STATUS_CODES": "404"})
    with ThreadPoolExecutor(2) as pool:  # two at once: two cold starts
        assert [r.status for r in pool.map(lambda i: fetch(local.port, f"/text?id=cold-{i}&sleep=0.4"),
                                           range(2))] == [200, 200]
    for i in range(3):
        assert fetch(local.port, f"/text?id=warm-{i}").status == 200
    assert fetch(local.port, "/missing").status == 500  # the app's 404 is an invocation error here
    wait_state(local, lambda d: sorted(states(d).values()) == ["frozen", "frozen"]
               and all(r["reported"] for r in d["invocations"]))
    # An instance dies mid-invocation (its runtime killed, as a crash would): that request fails, the
    # instance is shown dead. (Killed while frozen it could not even be noticed: nothing runs in a frozen
    # sandbox, on Lambda as here.)
    with ThreadPoolExecutor(1) as pool:
        crashing = pool.submit(fetch, local.port, "/sleep?s=5")
        doc = wait_state(local, lambda d: any(i["detail"] == "invoking" for i in d["instances"]))
        victim = next(i for i in doc["instances"] if i["detail"] == "invoking")
        os.kill(victim["pid"], signal.SIGKILL)
        assert crashing.result().status == 500
    wait_state(local, lambda d: states(d)[victim["number"]] == "dead")

    def after_load() -> None:  # one more request while the page is open: it must appear by polling
        assert fetch(local.port, "/text?id=while-open").status == 200

    def ready(page: dict[str, Any]) -> bool:
        return (len(page["rows"]) == 8 and all(r["start"] in ("cold", "warm") for r in page["rows"])
                and {i["state"] for i in page["instances"]} == {"frozen", "dead"})

    url = f"{local.url}/__reweb/"
    page, urls, errors = asyncio.run(browse(url, shot_path, after_load, ready))

    # Nothing but 127.0.0.1: the page, its polls, no CDN, no favicon fetched from the app.
    assert urls and all(u.startswith(f"{local.url}/__reweb/") or u.startswith("data:") for u in urls), urls
    assert any("/__reweb/api/state?since=" in u for u in urls)
    assert not errors, errors
    html = fetch(local.port, "/__reweb/").body.decode()
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"]  # a namespace, never loaded
    assert "<script src" not in html and "<link rel=\"stylesheet\"" not in html

    # The rows are the traffic: newest first.
    rows = page["rows"]
    paths = [r["cells"][2] for r in rows]
    assert paths[:3] == ["/text?id=while-open", "/sleep?s=5", "/missing"]
    assert sorted(paths[-2:]) == ["/text?id=cold-0&sleep=0.4", "/text?id=cold-1&sleep=0.4"]
    assert [r["start"] for r in rows] == ["warm"] * 6 + ["cold"] * 2
    assert [r["status"] for r in rows] == ["200", "500", "500"] + ["200"] * 5
    assert [r["error"] for r in rows] == [False, True, True] + [False] * 5
    assert (rows[1]["cells"][-1], rows[2]["cells"][-1]) == ("Runtime.ExitError", "HttpError")
    assert rows[1]["cells"][10] == str(victim["number"]) and rows[0]["cells"][10] != str(victim["number"])
    for r in rows:  # time, method, path, status, latency, duration, billed, memory, start, init, instance, error
        assert r["cells"][1] == "GET" and r["cells"][5].endswith(" ms") and r["cells"][6].endswith(" ms")
        assert re.fullmatch(r"\d+ MB", r["cells"][7]) and r["cells"][10] in ("1", "2")
        assert (r["cells"][9] != "-") == (r["start"] == "cold")
    states_shown = {i["number"]: i["state"] for i in page["instances"]}
    assert states_shown[victim["number"]] == "dead" and sorted(states_shown.values()) == ["dead", "frozen"]
    assert page["points"] == 8 and page["live"] == "live"

    # The figures are the server's, and the server's are the REPORT lines'.
    final = state(local)["summary"]
    assert page["cards"]["invocations"] == "8" and page["cards"]["cold starts"] == "2"
    assert page["cards"]["errors"] == "2"
    assert page["cost"]["requests"] == f"8 \u00d7 $0.20 per 1M = {final['text']['request_cost']}"
    assert page["cost"]["total"] == final["text"]["total_cost"]
    assert page["cost"]["per 1M requests like these"] == final["text"]["cost_per_million"]
    assert "public price list as of 2026-11" in page["prices"]
    assert page["summary"] == "\n".join(final["lines"])
    assert shot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot_path.stat().st_size > 20_000
    if os.environ.get("REWEB_UPDATE_DOCS_IMG"):
        DOCS_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot_path, DOCS_IMG)

    # Ctrl-C: the same summary, checked against the REPORT lines themselves.
    assert local.stop() == 0
    check_summary(local.lines, final["lines"])


def check_summary(lines: list[str], shown: list[str]) -> None:
    reports = [dict(part.split(": ", 1) for part in line.split("\t")) for line in lines
               if line.startswith("REPORT RequestId")]
    assert len(reports) == 8
    durations = sorted(float(r["Duration"].split()[0]) for r in reports)
    billed = sum(int(r["Billed Duration"].split()[0]) for r in reports)
    inits = [r["Init Duration"].split()[0] for r in reports if "Init Duration" in r]
    memory = max(int(r["Max Memory Used"].split()[0]) for r in reports)
    nearest = [durations[max(1, math.ceil(p / 100 * len(durations))) - 1] for p in (50, 95, 99)]
    per_million = 0.20 + billed / 1000 * (1024 / 1024) * 0.0000166667 / len(reports) * 1e6
    start = lines.index("reweb local: summary: 8 invocations, 2 cold starts, 2 errors, at 1024 MB")
    printed = [line.removeprefix("reweb local: ") for line in lines[start:]]
    assert printed == shown  # what the dashboard showed, word for word
    assert printed[1] == (f"  duration p50 {nearest[0]:.2f} ms, p95 {nearest[1]:.2f} ms, p99 {nearest[2]:.2f} ms, "
                          f"max {durations[-1]:.2f} ms")
    assert printed[2] == f"  max memory used {memory} MB of 1024 MB; billed duration {billed} ms in all"
    assert printed[3].startswith(f"  init durations: {inits[0]}, {inits[1]} ms")
    assert f"  estimated cost per million requests like these: ${per_million:.2f}" in printed
    assert any("$0.20 per 1M requests, $0.0000166667 per GB-second" in line and "2026-11" in line
               for line in printed)
