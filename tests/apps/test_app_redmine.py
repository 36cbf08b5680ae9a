"""Redmine 5.0 (Debian, Rails 6.1 on Ruby 3.1, Puma) with a SQLite database seeded at install time (migrations,
Redmine's default data, a project with issues) and copied to /tmp at cold start: a login with Rails' CSRF
authenticity_token answered by two Set-Cookie, absolute redirects with the public URL inside the query, an issue
created with an attachment whose name is not ASCII and downloaded back (RFC 5987 Content-Disposition), issue filters
with repeated `f[]=` keys, a Latin-1 CSV and a PDF export, gzip from Rack::Deflater, HEAD and a static Range.

Redmine needs several seconds of CPU to boot (Rails eager-loads every class), more than Lambda's 10 s init phase on a
busy machine: reweb runs it with REWEB_ASYNC_INIT=true (see docs/apps/redmine.md)."""

from __future__ import annotations

import gzip
import re
import urllib.parse
from pathlib import Path

import pytest
from appkit import TEST_PNG, Client, Site, repeats
from specs import REDMINE

pytestmark = [pytest.mark.apps, pytest.mark.timeout(400)]
SPEC = REDMINE  # the app conftest.py's `site` fixture starts
PASSWORD = "s3cret-Pass"
PUBLIC = Path("/usr/share/redmine/public")


def _token(html: str) -> str:
    m = re.search(r'name="authenticity_token" value="([^"]+)"', html)
    assert m, html[:3000]
    return m.group(1)


def _login(c: Client) -> list[str]:
    page = c.get("/login")
    assert page.status == 200 and [x.split("=", 1)[0] for x in page.set_cookies] == ["Redmine"], page
    r = c.post_form("/login", [
        ("authenticity_token", _token(page.text())), ("back_url", c.url("/projects/lambda/issues")),
        ("username", "admin"), ("password", PASSWORD), ("autologin", "1"), ("login", "Login"),
    ])
    assert r.status == 302, (r, r.text()[:2000])
    assert r.header("location") == c.url("/projects/lambda/issues"), r
    return r.set_cookies


def test_login_csrf_two_cookies(site: Site) -> None:
    c = site.client()
    lines = _login(c)
    assert sorted(x.split("=", 1)[0] for x in lines) == ["Redmine", "autologin"], lines
    assert all("path=/" in x for x in lines), lines
    page = c.get("/projects/lambda/issues")
    assert page.status == 200 and 'Logged in as <a class="user active" href="/users/1">admin</a>' in page.text(), (
        page.text()[:3000])


def test_forged_csrf_token(site: Site) -> None:
    c = site.client()
    c.get("/login")
    r = c.post_form("/login", [("authenticity_token", "forged"), ("username", "admin"), ("password", PASSWORD)])
    assert r.status == 422 and "Invalid form authenticity token." in r.text(), (r, r.text()[:2000])
    assert c.cookie("autologin") is None


def test_redirect_to_login_keeps_public_url(site: Site) -> None:
    c = site.client()
    r = c.get("/projects/lambda/issues/new")
    assert r.status == 302, r
    # Rails builds the URL from the request's Host: behind reweb the public origin, also inside back_url.
    back = urllib.parse.quote(c.url("/projects/lambda/issues/new"), safe="")
    assert r.header("location") == c.url("/login?back_url=" + back), r
    page, target = c.follow(r, "/projects/lambda/issues/new")
    assert page.status == 200 and target.startswith("/login?back_url="), (page, target)
    # Redmine keeps a back_url only when its host is the request's own: the page reduces it to the path.
    assert '<input type="hidden" name="back_url" value="/projects/lambda/issues/new"' in page.text(), page.text()[:3000]


def test_issue_with_non_ascii_attachment(site: Site) -> None:
    c = site.client()
    _login(c)
    form = c.get("/projects/lambda/issues/new")
    png = TEST_PNG.read_bytes()
    r = c.post_multipart(
        "/projects/lambda/issues",
        [("authenticity_token", _token(form.text())), ("issue[tracker_id]", "2"), ("issue[subject]", "Anhang: Grüße ✓"),
         ("issue[description]", "Привет & a+b=c"), ("issue[status_id]", "1"), ("issue[priority_id]", "2"),
         ("attachments[1][description]", "Bild ✓"), ("commit", "Create")],
        [("attachments[1][file]", "Grüße ✓ bild.png", "image/png", png)],
    )
    assert r.status == 302, (r, r.text()[:3000])
    loc = r.header("location") or ""
    assert re.fullmatch(re.escape(c.url("/issues/")) + r"\d+", loc), loc
    page = c.get(c.local_path(loc))
    assert page.status == 200 and "Anhang: Grüße ✓" in page.text() and "Привет &amp; a+b=c" in page.text(), page
    link = re.search(r'href="(/attachments/download/\d+/[^"]+)"', page.text())
    assert link and link.group(1).endswith("/Gr%C3%BC%C3%9Fe%20%E2%9C%93%20bild.png"), page.text()[:3000]
    got = c.get(link.group(1))
    assert got.status == 200 and got.header("content-type") == "image/png" and got.body == png, got
    assert got.header("content-disposition") == (
        "attachment; filename=\"Grusse %3F bild.png\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E2%9C%93%20bild.png"), got
    # A binary type is not gzipped even when the client accepts it (Rack::Deflater's include list).
    gz = c.get(link.group(1), [("Accept-Encoding", "gzip")])
    assert gz.header("content-encoding") is None and gz.body == png, gz
    h = c.head(link.group(1))
    assert h.status == 200 and h.body == b"" and h.header("content-type") == "image/png", h
    assert h.header("content-disposition") == got.header("content-disposition"), h


def test_repeated_filter_keys(site: Site) -> None:
    c = site.client()
    # Two filters by two `f[]=` keys, the tracker filter with two `v[tracker_id][]=` values (Bug=1, Support=3).
    query = ("set_filter=1&sort=id&f[]=status_id&op[status_id]=*&f[]=tracker_id&op[tracker_id]=%3D"
             "&v[tracker_id][]=1&v[tracker_id][]=3")
    r = c.get("/projects/lambda/issues.json?" + query.replace("[", "%5B").replace("]", "%5D"))
    assert r.status == 200, r
    doc = r.json()
    got = [(i["subject"], i["tracker"]["name"], i["status"]["name"]) for i in doc["issues"]]
    if repeats(site.mode, ["status_id", "tracker_id"]) == ["status_id", "tracker_id"]:
        assert got == [("Grüße aus München", "Bug", "New"), ("a+b=c & d", "Support", "Closed")], got
    else:
        # ALB single-value: only `f[]=tracker_id` and `v[tracker_id][]=3` arrive; no status filter means any status.
        assert got == [("a+b=c & d", "Support", "Closed")], got
    html = c.get("/projects/lambda/issues?" + query)
    assert html.status == 200 and "a+b=c &amp; d" in html.text(), html


def test_csv_latin1_and_pdf(site: Site) -> None:
    c = site.client()
    r = c.get("/projects/lambda/issues.csv?set_filter=1&sort=id&f%5B%5D=status_id&op%5Bstatus_id%5D=*"
              "&c%5B%5D=status&c%5B%5D=subject")
    assert r.status == 200 and r.header("content-type") == "text/csv; header=present", r
    assert r.header("content-disposition") == "attachment; filename=\"issues.csv\"; filename*=UTF-8''issues.csv", r
    # Two `c[]=` columns (only the last, subject, under ALB single-value). Redmine's CSV for English is ISO-8859-1,
    # not UTF-8: the bytes must arrive unchanged.
    cols = repeats(site.mode, [(b"Status", b"New", b"Closed"),
                               (b"Subject", b"Gr\xfc\xdfe aus M\xfcnchen", b"a+b=c & d")])
    head = b",".join([b"#", *(col[0] for col in cols)]) + b"\n"
    first = b",".join([b"1", *(col[1] for col in cols)]) + b"\n"
    third = b",".join([b"3", *(col[2] for col in cols)]) + b"\n"
    assert r.body.startswith(head + first) and third in r.body, r.body[:300]
    pdf = c.get("/issues/1.pdf")
    assert pdf.status == 200 and pdf.header("content-type") == "application/pdf", pdf
    assert pdf.header("content-disposition") == (
        "attachment; filename=\"lambda-1.pdf\"; filename*=UTF-8''lambda-1.pdf"), pdf
    assert pdf.body.startswith(b"%PDF-1.") and pdf.body.rstrip().endswith(b"%%EOF"), pdf.body[-100:]
    assert pdf.header("content-length") == str(len(pdf.body)), pdf


def test_gzip_head_and_range(site: Site) -> None:
    c = site.client()
    page = c.get("/projects/lambda/issues", [("Accept-Encoding", "gzip")])
    assert page.status == 200 and page.header("content-encoding") == "gzip", page
    assert "Grüße aus München" in gzip.decompress(page.body).decode(), page
    js = "/javascripts/application.js"
    want = (PUBLIC / js.lstrip("/")).read_bytes()
    gz = c.get(js, [("Accept-Encoding", "gzip")])
    assert gz.status == 200 and gz.header("content-encoding") == "gzip" and gz.decoded() == want, gz
    plain = c.get(js)
    assert plain.status == 200 and plain.header("content-encoding") is None and plain.body == want, plain
    h = c.head("/projects/lambda/issues")
    assert h.status == 200 and h.body == b"" and (h.header("content-type") or "").startswith("text/html"), h
    ico = (PUBLIC / "favicon.ico").read_bytes()
    part = c.get("/favicon.ico", [("Range", "bytes=10-29")])
    assert part.status == 206 and part.body == ico[10:30], part
    assert part.header("content-range") == f"bytes 10-29/{len(ico)}", part
    missing = c.get("/issues/99999")
    assert missing.status == 404, missing

