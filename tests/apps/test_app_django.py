"""Django 5.2 admin on gunicorn with PostgreSQL: CSRF-protected login (two Set-Cookie), APPEND_SLASH redirects,
a multipart upload of a binary file with a non-ASCII name (bytes compared), non-ASCII paths and repeated query keys
(an echo view), three cookies in one response, WhiteNoise gzip, 304, HEAD, logout."""

from __future__ import annotations

import re

import pytest
from appkit import KIT, TEST_PNG, AppSpec, Client, Site, fresh_dir, psql, repeats, run_as

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
NEEDS = ("postgres",)
PY = KIT / "py" / "django" / "bin"
SITE_DIR = KIT / "django_site"
ENV = {"HOME": "/tmp/django", "PGDATABASE": "django"}
PASSWORD = "s3cret-Pass"


def _prepare() -> None:
    fresh_dir("/tmp/django")
    fresh_dir("/tmp/django/media")
    psql("drop database if exists django")
    psql("create database django")
    # The schema and the admin user: in Lambda a one-off migration task does this, not the cold start.
    run_as([str(PY / "python"), str(SITE_DIR / "manage.py"), "migrate", "-v0"], env=ENV)
    run_as([str(PY / "python"), str(SITE_DIR / "manage.py"), "createsuperuser", "--noinput", "--username", "admin",
            "--email", "admin@example.com"], env={**ENV, "DJANGO_SUPERUSER_PASSWORD": PASSWORD})


SPEC = AppSpec(
    name="django",
    port=8001,
    wait_path="/admin/login/",
    command=lambda base: [
        str(PY / "gunicorn"), "site_.wsgi", "-b", "127.0.0.1:8001", "-w", "2", "--worker-tmp-dir", "/tmp/django",
    ],
    env=ENV,
    cwd=str(SITE_DIR),
    prepare=_prepare,
)


def _csrf(html: str) -> str:
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


def _login(c: Client) -> None:
    page = c.get("/admin/login/?next=/admin/")
    assert page.status == 200, page
    assert c.cookie("csrftoken"), page.set_cookies
    r = c.post_form("/admin/login/?next=/admin/", [("csrfmiddlewaretoken", _csrf(page.text())),
                                                  ("username", "admin"), ("password", PASSWORD),
                                                  ("next", "/admin/")])
    assert r.status == 302, r
    assert r.header("location") == "/admin/"
    names = sorted(line.split("=", 1)[0] for line in r.set_cookies)
    assert names == ["csrftoken", "sessionid"], r.set_cookies
    assert any("HttpOnly" in line for line in r.set_cookies if line.startswith("sessionid="))


def test_redirects(site: Site) -> None:
    c = site.client()
    r = c.get("/admin")
    assert r.status == 301 and r.header("location") == "/admin/", r
    r = c.get("/admin/")
    assert r.status == 302 and r.header("location") == "/admin/login/?next=/admin/", r


def test_login_flow(site: Site) -> None:
    c = site.client()
    _login(c)
    home = c.get("/admin/")
    assert home.status == 200 and "Site administration" in home.text(), home


def test_login_without_csrf_is_403(site: Site) -> None:
    c = site.client()
    c.get("/admin/login/")
    r = c.post_form("/admin/login/", [("username", "admin"), ("password", PASSWORD)])
    assert r.status == 403, r
    assert "CSRF verification failed" in r.text()


def test_wrong_password(site: Site) -> None:
    c = site.client()
    page = c.get("/admin/login/")
    r = c.post_form("/admin/login/", [("csrfmiddlewaretoken", _csrf(page.text())), ("username", "admin"),
                                      ("password", "wrong")])
    assert r.status == 200, r
    assert "Please enter the correct username and password" in r.text()
    assert c.cookie("sessionid") is None


def test_multipart_upload_binary_bytes(site: Site) -> None:
    c = site.client()
    _login(c)
    form = c.get("/admin/docs/document/add/")
    assert form.status == 200, form
    png = TEST_PNG.read_bytes()
    r = c.post_multipart(
        "/admin/docs/document/add/",
        [("csrfmiddlewaretoken", _csrf(form.text())), ("title", "Grüße ✓ a+b&c"), ("_save", "Save")],
        [("upload", "grün.png", "image/png", png)],
    )
    assert r.status == 302, (r, r.text()[:3000])
    assert r.header("location") == "/admin/docs/document/"
    listing = c.get("/admin/docs/document/?q=%C3%BC%C3%9Fe&o=2&o=1")
    assert listing.status == 200 and "Grüße ✓ a+b&amp;c" in listing.text(), listing
    link = re.search(r'href="/media/(uploads/gr[^"]+\.png)"', c.get("/admin/docs/document/1/change/").text())
    assert link and link.group(1) == "uploads/gr%C3%BCn.png", link
    media = c.get("/media/uploads/gr%C3%BCn.png")
    assert media.status == 200 and media.header("content-type") == "image/png", media
    assert media.body == png


def test_echo_non_ascii_path_and_query(site: Site) -> None:
    r = site.client().get("/echo/p%C3%A4th/%E2%9C%93?a=1&a=2&b=x%2By+z&c=%26%3D&empty=&a=3&k%C3%BC=%E2%82%AC")
    assert r.status == 200, r
    doc = r.json()
    assert doc["path"] == "/echo/päth/✓", doc
    # ALB single-value passes only the last `a` (an AWS limit: docs/apps/django.md).
    want = {"a": repeats(site.mode, ["1", "2", "3"]), "b": ["x+y z"], "c": ["&="], "empty": [""], "kü": ["€"]}
    assert doc["GET"] == want, doc


def test_echo_form_post_repeated_keys_and_headers(site: Site) -> None:
    c = site.client()
    r = c.request(
        "POST", "/echo/form?x=1",
        b"t=a&t=b&u=%C3%BC%2B&v=1+2",
        [("Content-Type", "application/x-www-form-urlencoded"), ("X-Repeat", "one"), ("X-Repeat", "two"),
         ("Cookie", "k1=v1; k2=v%202")],
    )
    assert r.status == 200, r
    doc = r.json()
    assert doc["POST"] == {"t": ["a", "b"], "u": ["ü+"], "v": ["1 2"]}, doc
    assert doc["cookies"] == {"k1": "v1", "k2": "v%202"}, doc
    # A header sent twice arrives comma-joined, or as its last value only under ALB single-value (AWS's limit).
    assert doc["headers"]["X-Repeat"] in (", ".join(repeats(site.mode, ["one", "two"])),
                                          ",".join(repeats(site.mode, ["one", "two"]))), doc


def test_three_cookies(site: Site) -> None:
    r = site.client().get("/cookies/")
    assert r.status == 200, r
    lines = r.set_cookies
    assert len(lines) == 3, lines
    by_name = {line.split("=", 1)[0]: line for line in lines}
    assert by_name["a"].startswith("a=1;") and "HttpOnly" in by_name["a"]
    assert "Path=/echo/" in by_name["b"]
    assert "Max-Age=60" in by_name["c"] and "SameSite=Lax" in by_name["c"]


def test_static_gzip_304_head(site: Site) -> None:
    c = site.client()
    path = "/static/admin/js/vendor/jquery/jquery.js"
    plain = c.get(path)
    assert plain.status == 200 and len(plain.body) > 250_000, plain
    assert plain.header("content-encoding") is None
    gz = c.get(path, [("Accept-Encoding", "gzip")])
    assert gz.header("content-encoding") == "gzip" and len(gz.body) < len(plain.body) / 2, gz
    assert gz.decoded() == plain.body
    assert "accept-encoding" in (gz.header("vary") or "").lower()
    etag = plain.header("etag") or ""
    assert etag
    nm = c.get(path, [("If-None-Match", etag)])
    assert nm.status == 304 and nm.body == b"", nm
    h = c.head(path)
    assert h.status == 200 and h.body == b"" and h.header("content-length") == str(len(plain.body)), h


def test_logout_expires_cookies(site: Site) -> None:
    c = site.client()
    _login(c)
    page = c.get("/admin/")
    r = c.post_form("/admin/logout/", [("csrfmiddlewaretoken", _csrf(page.text()))])
    assert r.status == 200, r
    assert any(line.startswith('sessionid=""') and "Max-Age=0" in line for line in r.set_cookies), r.set_cookies
    assert c.get("/admin/").status == 302
