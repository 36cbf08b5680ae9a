"""DokuWiki 2022-07-31 (PHP 8.2) on nginx + php-fpm, flat files in /tmp: two Set-Cookie on the first visit,
a login POST (302 + cookie) and a 403 with a custom reason phrase, saving a page with a non-ASCII id (sectok CSRF),
a multipart media upload read back byte for byte, ETag/304, gzip from nginx, logout."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from appkit import KIT, TEST_PNG, Client, Site, reason_phrase
from specs import DOKUWIKI

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
SPEC = DOKUWIKI  # the app conftest.py's `site` fixture starts
PAGE_ID = "grüße:привет"  # DokuWiki cleans it to gruesse:привет
CLEAN_ID = "gruesse:привет"


def _sectok(html: str) -> str:
    m = re.search(r'name="sectok" value="([0-9a-f]*)"', html)
    assert m, html[:2000]
    return m.group(1)


def _login(c: Client, site: Site) -> None:
    page = c.get("/doku.php?id=start&do=login")
    assert page.status == 200, page
    r = c.post_form("/doku.php?id=start", [("sectok", _sectok(page.text())), ("id", "start"), ("do", "login"),
                                            ("u", "admin"), ("p", "s3cret-Pass")])
    assert r.status == 302, r
    loc = urllib.parse.urlsplit(r.header("location") or "")
    # DokuWiki builds the URL from the Host header but drops a port other than 80/443: directly that gives
    # http://127.0.0.1/doku.php (app behaviour); reweb's Location fix turns its own host back into the public origin.
    netloc = "127.0.0.1" if site.mode == "direct" else c.host
    assert (loc.netloc, loc.path, loc.query) == (netloc, "/doku.php", "id=start"), loc
    assert any(re.match(r"DW[0-9a-f]{32}=YWRtaW4%3D", line) for line in r.set_cookies), r.set_cookies


def test_first_visit_two_cookies(site: Site) -> None:
    r = site.client().get("/doku.php")
    assert r.status == 200, r
    names = [line.split("=", 1)[0] for line in r.set_cookies]
    assert len(names) == 2 and names[0] == "DokuWiki" and re.fullmatch(r"DW[0-9a-f]{32}", names[1]), r.set_cookies
    assert "deleted" in r.set_cookies[1] and "Max-Age=0" in r.set_cookies[1]


def test_login_and_logout(site: Site) -> None:
    c = site.client()
    _login(c, site)
    page = c.get("/doku.php?id=start")
    assert "Log Out" in page.text(), page.text()[:2000]
    r = c.get(f"/doku.php?id=start&do=logout&sectok={_sectok(page.text())}")
    assert r.status == 302, r
    assert len(r.set_cookies) >= 1, r.set_cookies
    assert "Log In" in c.get("/doku.php?id=start").text()


def test_cookie_salt_is_the_seeds(site: Site) -> None:
    """Every instance starts from the seed, and its login cookie's salt is the seed's: one for all instances
    (docs/apps/dokuwiki.md). DokuWiki would make one per instance at first use otherwise, and each instance would
    refuse the logins of the others (tests/images/test_dokuwiki_instances.py runs two)."""
    _login(site.client(), site)  # DokuWiki has read its salt (or made one)
    seeded = site.read_file(str(KIT / "dokuwiki" / "seed" / "data" / "meta" / "_htcookiesalt2"))
    assert len(seeded) >= 64
    if site.mode == "direct":  # under `reweb local` the instance's /tmp is its own, out of this test's sight
        assert site.read_file("/tmp/dokuwiki/data/meta/_htcookiesalt2") == seeded


def test_bad_password_403(site: Site) -> None:
    c = site.client()
    page = c.get("/doku.php?id=start&do=login")
    r = c.post_form("/doku.php?id=start", [("sectok", _sectok(page.text())), ("id", "start"), ("do", "login"),
                                            ("u", "admin"), ("p", "wrong")])
    assert r.status == 403, r
    # DokuWiki's own phrase; API Gateway and Function URLs have no field for it (docs/apps/dokuwiki.md).
    assert r.reason == reason_phrase(site.mode, 403, "Login failed"), r


def test_save_non_ascii_page(site: Site) -> None:
    c = site.client()
    _login(c, site)
    qid = urllib.parse.quote(PAGE_ID)
    form = c.get(f"/doku.php?id={qid}&do=edit")
    assert form.status == 200, form
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.text()))
    text = "====== Привет ======\nGrüße aus **Zürich**: a+b=c & d=e ✓\n"
    r = c.post_form(
        f"/doku.php?id={urllib.parse.quote(CLEAN_ID)}&do=edit",
        [("sectok", fields["sectok"]), ("id", CLEAN_ID), ("rev", "0"), ("date", fields["date"]), ("prefix", "."),
         ("suffix", ""), ("changecheck", fields["changecheck"]), ("target", "section"), ("wikitext", text),
         ("summary", "erste Fassung"), ("do[save]", "1")],
    )
    assert r.status == 302, (r, r.text()[:2000])
    loc = urllib.parse.urlsplit(r.header("location") or "")
    assert loc.query == "id=gruesse:%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82", loc
    page = c.get(f"/doku.php?{loc.query}")
    assert page.status == 200, page
    assert "Grüße aus <strong>Zürich</strong>: a+b=c &amp; d=e ✓" in page.text(), page.text()[:3000]
    raw = c.get(f"/doku.php?id={urllib.parse.quote(CLEAN_ID)}&do=export_raw")
    assert raw.body.decode() == text.rstrip("\n") or raw.body.decode() == text, raw


def test_media_upload_bytes_etag_304(site: Site) -> None:
    c = site.client()
    _login(c, site)
    mm = c.get("/doku.php?ns=wiki&do=media&tab_files=upload")
    png = TEST_PNG.read_bytes()
    r = c.post_multipart(
        "/doku.php?id=start&tab_files=files&tab_details=view&do=media&ns=wiki",
        [("sectok", _sectok(mm.text())), ("ns", "wiki"), ("mediaid", "grüße.png")],
        [("upload", "grüße.png", "image/png", png)],
    )
    assert r.status in (200, 302), r
    c.follow(r, "/doku.php")
    media = c.get("/lib/exe/fetch.php?media=wiki:gr%C3%BC%C3%9Fe.png")
    assert media.status == 200, media
    assert media.header("content-type") == "image/png"
    assert media.body == png
    etag = media.header("etag") or ""
    assert etag and media.header("last-modified")
    nm = c.get("/lib/exe/fetch.php?media=wiki:gr%C3%BC%C3%9Fe.png", [("If-None-Match", etag)])
    assert nm.status == 304 and nm.body == b"", nm


def test_gzip_css_and_js(site: Site) -> None:
    c = site.client()
    css = c.get("/lib/exe/css.php?t=dokuwiki", [("Accept-Encoding", "gzip")])
    assert css.status == 200 and css.header("content-encoding") == "gzip", css
    assert b".dokuwiki" in css.decoded()
    js = c.get("/lib/exe/js.php?t=dokuwiki&tseed=x", [("Accept-Encoding", "gzip")])
    assert js.status == 200, js
    plain = c.get("/lib/exe/js.php?t=dokuwiki&tseed=x")
    assert js.decoded() == plain.body and len(plain.body) > 50_000


def test_binary_assets(site: Site) -> None:
    c = site.client()
    gif = c.get("/lib/exe/taskrunner.php?id=start")
    assert gif.status == 200 and gif.header("content-type") == "image/gif" and gif.body[:6] == b"GIF89a", gif
    ico = c.get("/lib/tpl/dokuwiki/images/favicon.ico")
    want = Path("/usr/share/dokuwiki/lib/tpl/dokuwiki/images/favicon.ico").read_bytes()
    assert ico.status == 200 and ico.body == want, ico
    deny = c.get("/conf/local.php")
    assert deny.status == 403, deny
