"""Prometheus 2.42 (Go, Debian's classic UI) scraping itself: repeated `match[]`, PromQL with braces and quotes in the
query, form POSTs, 400 errors, gzip of /metrics, a 780 KB JavaScript file whose query holds `%2b`, HEAD."""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path

import pytest
from appkit import KIT, AppSpec, Site, fresh_dir, repeats

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
JS = Path("/usr/share/javascript/moment-timezone/moment-timezone-with-data.min.js")


def _prepare() -> None:
    fresh_dir("/tmp/prometheus")


SPEC = AppSpec(
    name="prometheus",
    port=9095,
    wait_path="/-/ready",
    command=lambda base: [
        "prometheus", f"--config.file={KIT / 'prometheus/prometheus.yml'}", "--storage.tsdb.path=/tmp/prometheus/data",
        "--web.listen-address=127.0.0.1:9095",
    ],
    env={"HOME": "/tmp/prometheus"},
    prepare=_prepare,
)


def test_root_redirect(site: Site) -> None:
    c = site.client()
    r = c.get("/")
    assert r.status == 302, r
    assert r.header("location") == "/classic/graph"
    r = c.get("/graph")
    assert r.status == 301 and r.header("location") == "/graph/", r
    page = c.get("/classic/graph")
    assert page.status == 200 and "moment-timezone-with-data.min.js?v=" in page.text(), page


def test_series_with_repeated_match(site: Site) -> None:
    c = site.client()
    q = urllib.parse.urlencode([("match[]", "up"), ("match[]", 'prometheus_build_info{job="prometheus"}')])
    # Under ALB single-value only the last match[] reaches Prometheus (an AWS limit: docs/apps/prometheus.md).
    want = sorted(repeats(site.mode, ["up", "prometheus_build_info"]))
    data: list[dict[str, str]] = []
    deadline = time.monotonic() + 30  # the series exist after the first scrape (5 s interval)
    while time.monotonic() < deadline:
        r = c.get(f"/api/v1/series?{q}")
        assert r.status == 200, r
        data = r.json()["data"]
        if len(data) == len(want):
            break
        time.sleep(0.5)
    assert sorted(d["__name__"] for d in data) == want, data


def test_query_post_form(site: Site) -> None:
    expr = 'sum by (job) (rate(prometheus_http_requests_total{handler=~"/api/.*"}[1m]))'
    r = site.client().post_form("/api/v1/query", [("query", expr)])
    assert r.status == 200, r
    doc = r.json()
    assert doc["status"] == "success" and doc["data"]["resultType"] == "vector", doc


def test_query_get_with_encoded_plus(site: Site) -> None:
    r = site.client().get("/api/v1/query?query=1%2B2")
    assert r.status == 200, r
    assert r.json()["data"]["result"][1] == "3", r.json()
    r = site.client().get("/api/v1/query?query=vector(1)+%2B+vector(2)")  # `+` is a space, `%2B` the operator
    assert r.json()["data"]["result"][0]["value"][1] == "3", r.json()


def test_bad_query_is_400(site: Site) -> None:
    r = site.client().get("/api/v1/query?query=up%7B")
    assert r.status == 400, r
    doc = r.json()
    assert doc["status"] == "error" and doc["errorType"] == "bad_data", doc


def test_metrics_gzip(site: Site) -> None:
    r = site.client().get("/metrics", [("Accept-Encoding", "gzip")])
    assert r.status == 200, r
    assert r.header("content-encoding") == "gzip"
    assert b"prometheus_build_info" in r.decoded()


def test_large_js_with_plus_in_query(site: Site) -> None:
    c = site.client()
    target = "/classic/static/moment-timezone/moment-timezone-with-data.min.js?v=2.42.0%2bds-5%2bdeb12u1"
    r = c.get(target, [("Accept-Encoding", "gzip")])
    assert r.status == 200, r
    assert r.decoded() == JS.read_bytes()
    # Prometheus's static handler answers HEAD with 405 and a Content-Length but (as HEAD must) no body.
    h = c.head(target)
    assert h.status == 405 and h.header("allow") == "GET, OPTIONS" and h.body == b"", h


def test_binary_font(site: Site) -> None:
    fonts = "/classic/static/vendor/bootstrap4-glyphicons/fonts/glyphicons"
    r = site.client().get(f"{fonts}/glyphicons-halflings-regular.woff2")
    assert r.status == 200, r
    assert r.body[:4] == b"wOF2"
    assert len(r.body) == int(r.header("content-length") or -1)
