"""Datasette 0.65 (Python, ASGI on uvicorn) serving an immutable SQLite file: tilde-encoded paths, repeated query keys,
streamed CSV, BLOB downloads, SQL parameters with `%`, a CSRF-protected form post with a cookie."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import urllib.parse

import pytest
from appkit import KIT, TEST_PNG, AppSpec, Site, fresh_dir, repeats

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
DB = KIT / "datasette" / "demo.db"


def _prepare() -> None:
    fresh_dir("/tmp/datasette")


SPEC = AppSpec(
    name="datasette",
    port=8002,
    wait_path="/-/versions.json",
    command=lambda base: [
        str(KIT / "py/datasette/bin/datasette"), "serve", "-i", str(DB), "-h", "127.0.0.1", "-p", "8002",
    ],
    env={"HOME": "/tmp/datasette"},
    prepare=_prepare,
)


def test_tilde_encoding_redirect(site: Site) -> None:
    c = site.client()
    r = c.get("/demo/st%C3%A4dte")
    assert r.status == 302, r
    assert r.header("location") == "/demo/st~C3~A4dte"
    page = c.get(c.local_path(r.header("location") or ""))
    assert page.status == 200, page
    assert "München" in page.text() and "東京" in page.text()


def test_tilde_path_with_encoded_slash_in_row_id(site: Site) -> None:
    # `~2F` is a literal slash inside one path segment; `%7E` must not be turned into a path separator either.
    c = site.client()
    r = c.get("/demo/st~C3~A4dte/1.json?_shape=object")
    assert r.status == 200, r
    assert r.json() == {"1": {"id": 1, "name": "München", "land": "DE", "einwohner": 1512491}}
    r = c.get("/demo/no~2Fsuch~2Ftable.json")
    assert r.status == 404, r


def test_json_repeated_keys(site: Site) -> None:
    c = site.client()
    r = c.get("/demo/st~C3~A4dte.json?_shape=array&land__in=DE,CH&_col=name&_col=land&_sort_desc=einwohner")
    assert r.status == 200, r
    # Under ALB single-value only the last `_col` reaches Datasette (an AWS limit: docs/apps/datasette.md).
    cols = repeats(site.mode, ["name", "land"])
    rows = [(1, "München", "DE"), (3, "Köln", "DE"), (2, "Zürich", "CH"), (4, "Genève", "CH")]
    assert r.json() == [{"id": i, **{k: v for k, v in (("name", n), ("land", land)) if k in cols}}
                        for i, n, land in rows], r
    r = c.get("/demo/st~C3~A4dte.json?_facet=land&_facet=name&_size=0")
    facets = r.json()["facet_results"]
    assert set(facets) == set(repeats(site.mode, ["land", "name"])), facets


def test_sql_with_percent_and_non_ascii_parameter(site: Site) -> None:
    q = urllib.parse.urlencode({"sql": "select name from \"städte\" where name like :p", "p": "%ö%", "_shape": "array"})
    r = site.client().get(f"/demo.json?{q}")
    assert r.status == 200, r
    assert r.json() == [{"name": "Köln"}]
    r = site.client().get("/demo.json?sql=select+%272%2B2%3D%27+||+(2%2B2)+as+x&_shape=array")
    assert r.json() == [{"x": "2+2=4"}]


def test_streamed_csv(site: Site) -> None:
    r = site.client().get("/demo/st~C3~A4dte.csv?_stream=on&name__contains=%C3%BC")
    assert r.status == 200, r
    assert r.header("content-type") == "text/plain; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8"))))
    assert [row["name"] for row in rows] == ["München", "Zürich"]


def test_blob_and_database_download(site: Site) -> None:
    c = site.client()
    r = c.get("/demo/files/1.blob?_blob_column=data")
    assert r.status == 200, r
    assert r.header("content-type") == "application/binary"
    assert r.header("content-disposition") == 'attachment; filename="files-1-data.blob"'
    assert r.body == TEST_PNG.read_bytes()
    whole = c.get("/demo.db")
    assert whole.status == 200, whole
    assert whole.body == DB.read_bytes()
    con = sqlite3.connect(":memory:")
    con.deserialize(whole.body)
    assert con.execute('select count(*) from "städte"').fetchone() == (7,)


def test_head_and_404(site: Site) -> None:
    c = site.client()
    r = c.head("/-/versions.json")
    assert r.status == 200, r
    assert r.body == b""
    r = c.get("/demo/missing_table.json")
    assert r.status == 404, r
    assert r.json()["ok"] is False


def test_csrf_form_post_with_cookies(site: Site) -> None:
    c = site.client()
    page = c.get("/-/messages")
    assert page.status == 200, page
    token = c.cookie("ds_csrftoken")
    assert token, page.set_cookies
    # With the CSRF cookie but without the form field, the POST is refused.
    r = c.post_form("/-/messages", [("message", "x"), ("message_type", "INFO")])
    assert r.status == 403, r
    form = re.search(r'name="csrftoken" value="([^"]+)"', page.text())
    assert form, page.text()[:2000]
    fields = [("message", "Grüße & Küsse"), ("message_type", "INFO"), ("csrftoken", form.group(1))]
    r = c.post_form("/-/messages", fields)
    assert r.status == 302, r
    assert r.header("location") == "/"
    assert any(sc.startswith("ds_messages=") for sc in r.set_cookies), r.set_cookies
    home = c.get("/")
    assert "Grüße &amp; Küsse" in home.text(), home.text()[:3000]
