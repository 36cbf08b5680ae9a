"""MediaWiki 1.39 (Debian, PHP 8.2) on nginx + php-fpm, SQLite seeded at install time by MediaWiki's own installer
and copied to /tmp at cold start: short URLs and absolute redirects built from the request's Host, a login with a
CSRF login token answered by four Set-Cookie, an edit through api.php with a CSRF token (a forged one refused), an
upload with a non-ASCII file name read back whole, by HEAD and by Range, ResourceLoader's load.php gzipped,
Special:Random's 302, `titles=A|B` and a repeated query key."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from appkit import TEST_PNG, Client, Site
from specs import MEDIAWIKI

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
SPEC = MEDIAWIKI  # the app conftest.py's `site` fixture starts
PASSWORD = "s3cret-Pass-123"
#: The two pages tests/apps/install.d/mediawiki.sh adds to the suite's wiki, in that order (the second links the
#: first): (title, wikitext), from the one file both read (install.sh copies it into the kit).
SEED_EDITS: list[tuple[str, str]] = [
    (page["title"], page["text"])
    for page in json.loads((Path(__file__).parent / "kit" / "mediawiki" / "seed-pages.json").read_text("utf-8"))]
SEED_PAGES = {"Main Page", *(title for title, _ in SEED_EDITS)}


def _q(title: str) -> str:
    """A title as MediaWiki puts it in URLs: spaces as underscores, then percent-encoded UTF-8."""
    return urllib.parse.quote(title.replace(" ", "_"), safe=":/")


def _login(c: Client) -> list[str]:
    page = c.get("/index.php?title=Special:UserLogin&returnto=" + _q("Grüße ✓"))
    assert page.status == 200, page
    assert [line.split("=", 1)[0] for line in page.set_cookies] == ["my_wiki_session"], page.set_cookies
    tok = re.search(r'name="wpLoginToken" type="hidden" value="([^"]+)"', page.text())
    assert tok, page.text()[:3000]
    r = c.post_form("/index.php?title=Special:UserLogin&returnto=" + _q("Grüße ✓"), [
        ("wpName", "Admin"), ("wpPassword", PASSWORD), ("wpLoginToken", tok.group(1)), ("wpRemember", "1"),
        ("wploginattempt", "Log in"), ("authAction", "login"), ("title", "Special:UserLogin"),
        ("wpEditToken", "+\\"),
    ])
    assert r.status == 302, (r, r.text()[:3000])
    # MediaWiki builds absolute URLs from the request's Host: behind reweb that must be the public origin.
    assert r.header("location") == c.url("/wiki/" + _q("Grüße ✓")), r
    return r.set_cookies


def _csrf(c: Client) -> str:
    doc = c.get("/api.php?action=query&meta=tokens&format=json").json()
    token = doc["query"]["tokens"]["csrftoken"]
    assert isinstance(token, str) and token.endswith("+\\") and len(token) > 10, doc
    return token


def seed_pages(c: Client) -> None:
    """The suite's two seed pages, made through the wiki's own HTTP API, for a wiki that starts without them (the
    guide's image): edits as Admin with a CSRF token, then a purge with a links update of both pages.

    An edit updates the link tables (categories) after its answer is sent (a post-send update; no jobs run here,
    $wgJobRunRate = 0), so the next request could come first: `action=purge&forcelinkupdate=1` does it again before
    it answers, and the wiki is then as the installer leaves it.
    """
    _login(c)
    token = _csrf(c)
    for title, text in SEED_EDITS:
        r = c.post_form("/api.php", [("action", "edit"), ("title", title), ("text", text), ("summary", "seed"),
                                     ("createonly", "1"), ("token", token), ("format", "json")])
        doc = r.json()
        assert r.status == 200 and doc["edit"]["result"] == "Success", doc
    r = c.post_form("/api.php", [("action", "purge"), ("titles", "|".join(title for title, _ in SEED_EDITS)),
                                 ("forcelinkupdate", "1"), ("format", "json"), ("formatversion", "2")])
    purged = r.json()["purge"]
    assert r.status == 200 and sorted((p["title"], p.get("purged"), p.get("linkupdate")) for p in purged) == sorted(
        (title, True, True) for title, _ in SEED_EDITS), purged


def test_short_url_and_root_redirect(site: Site) -> None:
    c = site.client()
    r = c.get("/")
    assert r.status == 301 and r.header("location") == c.url("/wiki/Main_Page"), r
    page = c.get("/wiki/" + _q("Grüße ✓"))
    assert page.status == 200, page
    assert "Grüße aus <b>Lambda</b> ✓" in page.text(), page.text()[:3000]
    # The link to the other seed page, percent-encoded in the short-URL form.
    assert f'href="/wiki/{_q("Привет мир")}"' in page.text(), page.text()[:3000]
    missing = c.get("/wiki/" + _q("Gibt es nicht"))
    assert missing.status == 404 and "There is currently no text in this page." in missing.text(), missing


def test_login_four_cookies(site: Site) -> None:
    c = site.client()
    lines = _login(c)
    names = sorted(line.split("=", 1)[0] for line in lines)
    assert names == ["my_wikiToken", "my_wikiUserID", "my_wikiUserName", "my_wiki_session"], lines
    assert all("HttpOnly" in line for line in lines), lines
    page, _ = c.follow(c.get("/wiki/Special:Preferences"), "/wiki/Special:Preferences")
    assert page.status == 200 and "Admin" in page.text() and "Log out" in page.text(), page.text()[:2000]


def test_wrong_password(site: Site) -> None:
    c = site.client()
    page = c.get("/index.php?title=Special:UserLogin")
    tok = re.search(r'name="wpLoginToken" type="hidden" value="([^"]+)"', page.text())
    assert tok, page.text()[:2000]
    r = c.post_form("/index.php?title=Special:UserLogin", [
        ("wpName", "Admin"), ("wpPassword", "wrong"), ("wpLoginToken", tok.group(1)),
        ("wploginattempt", "Log in"), ("authAction", "login"), ("title", "Special:UserLogin"),
    ])
    assert r.status == 200 and "Incorrect username or password entered." in r.text(), r
    assert c.cookie("my_wikiUserID") is None


def test_api_edit_with_csrf_token(site: Site) -> None:
    c = site.client()
    _login(c)
    token = _csrf(c)
    r = c.post_form("/api.php", [
        ("action", "edit"), ("title", "Новая страница"), ("text", "Hallo & a+b=c ✓ [[Grüße ✓]]"),
        ("summary", "über Lambda"), ("token", token), ("format", "json"),
    ])
    doc = r.json()
    assert r.status == 200 and doc["edit"]["result"] == "Success", doc
    page = c.get("/wiki/" + _q("Новая страница"))
    assert page.status == 200 and "Hallo &amp; a+b=c ✓" in page.text(), page.text()[:3000]
    raw = c.get("/index.php?title=" + _q("Новая страница") + "&action=raw")
    assert raw.status == 200 and raw.text() == "Hallo & a+b=c ✓ [[Grüße ✓]]", raw
    forged = c.post_form("/api.php", [("action", "edit"), ("title", "Forged"), ("text", "x"),
                                      ("token", "0" * 40 + "+\\"), ("format", "json")])
    doc = forged.json()
    assert doc["error"]["code"] == "badtoken", doc
    anon = Client(c.base).post_form("/api.php", [("action", "edit"), ("title", "Anon"), ("text", "x"),
                                                 ("token", token), ("format", "json")])
    assert anon.json()["error"]["code"] == "badtoken", anon.text()


def test_upload_non_ascii_name_range_and_head(site: Site) -> None:
    c = site.client()
    _login(c)
    png = TEST_PNG.read_bytes()
    r = c.post_multipart(
        "/api.php",
        [("action", "upload"), ("filename", "Grüße ✓ bild.png"), ("comment", "Ünïcode"), ("token", _csrf(c)),
         ("format", "json"), ("ignorewarnings", "1")],
        [("file", "Grüße ✓ bild.png", "image/png", png)],
    )
    doc = r.json()
    assert doc["upload"]["result"] == "Success", doc
    assert doc["upload"]["filename"] == "Grüße_✓_bild.png", doc
    url = doc["upload"]["imageinfo"]["url"]
    # Hashed upload path: /images/<md5[0]>/<md5[:2]>/<name>, absolute with the public origin.
    assert re.fullmatch(re.escape(c.url("/images/")) + r"[0-9a-f]/[0-9a-f]{2}/Gr%C3%BC%C3%9Fe_%E2%9C%93_bild\.png",
                        url), url
    target = c.local_path(url)
    got = c.get(target)
    assert got.status == 200 and got.header("content-type") == "image/png" and got.body == png, got
    part = c.get(target, [("Range", "bytes=100-199")])
    assert part.status == 206, part
    assert part.header("content-range") == f"bytes 100-199/{len(png)}" and part.body == png[100:200], part
    h = c.head(target)
    assert h.status == 200 and h.body == b"" and h.header("content-length") == str(len(png)), h
    etag = got.header("etag") or ""
    assert etag, got
    again = c.get(target, [("If-None-Match", etag)])
    assert again.status == 304 and again.body == b"", again
    desc = c.get("/wiki/File:" + _q("Grüße ✓ bild.png"))
    assert desc.status == 200 and "Ünïcode" in desc.text(), desc.text()[:3000]


def test_load_php_gzip(site: Site) -> None:
    c = site.client()
    target = "/load.php?lang=en&modules=startup&only=scripts&raw=1&skin=vector"
    gz = c.get(target, [("Accept-Encoding", "gzip")])
    assert gz.status == 200 and gz.header("content-encoding") == "gzip", gz
    assert (gz.header("content-type") or "").startswith("text/javascript"), gz
    plain = c.get(target)
    assert plain.status == 200 and plain.header("content-encoding") is None, plain
    assert gz.decoded() == plain.body and b"mw.loader" in plain.body, plain.body[:300]
    css = c.get("/load.php?lang=en&modules=skins.vector.styles.legacy&only=styles&skin=vector")
    assert css.status == 200 and (css.header("content-type") or "").startswith("text/css"), css
    assert b".vector-" in css.body or b"#mw-head" in css.body, css.body[:300]


def test_random_redirect_and_head(site: Site) -> None:
    c = site.client()
    r = c.get("/wiki/Special:Random")
    assert r.status == 302, r
    loc = r.header("location") or ""
    assert loc.startswith(c.url("/wiki/")), loc
    title = urllib.parse.unquote(loc[len(c.url("/wiki/")):]).replace("_", " ")
    assert title in SEED_PAGES | {"Новая страница"}, title
    page, _ = c.follow(r, "/wiki/Special:Random")
    assert page.status == 200, page
    h = c.head("/wiki/Main_Page")
    assert h.status == 200 and h.body == b"" and (h.header("content-type") or "").startswith("text/html"), h
    search = c.get("/index.php?search=" + _q("Привет мир") + "&title=Special:Search&go=Go")
    assert search.status == 302 and search.header("location") == c.url("/wiki/" + _q("Привет мир")), search


def test_titles_pipe_and_repeated_keys(site: Site) -> None:
    c = site.client()
    r = c.get("/api.php?action=query&titles=Main_Page%7C" + _q("Grüße ✓") + "|Nope&prop=info&format=json"
              "&formatversion=2")
    assert r.status == 200, r
    pages = {p["title"]: p for p in r.json()["query"]["pages"]}
    assert set(pages) == {"Main Page", "Grüße ✓", "Nope"} and pages["Nope"].get("missing") is True, pages
    # A key sent twice: PHP keeps the last (ALB single-value also passes only the last), so `titles` is the page.
    r = c.get("/api.php?action=query&titles=Nope&titles=" + _q("Привет мир") + "&prop=categories&format=json"
              "&formatversion=2")
    pages = r.json()["query"]["pages"]
    assert [p["title"] for p in pages] == ["Привет мир"], pages
    assert pages[0]["categories"] == [{"ns": 14, "title": "Category:Seed"}], pages
