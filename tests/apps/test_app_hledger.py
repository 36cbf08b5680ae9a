"""hledger-web 1.25 (Haskell, Yesod on Warp) on a journal file in /tmp: 303 to an absolute URL built from --base-url
(the public URL), an encrypted session cookie, a CSRF-protected form POST with repeated keys and non-ASCII values,
JSON, gzip."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from appkit import KIT, AppSpec, Site, chown_tree, fresh_dir

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
JOURNAL = "/tmp/hledger/main.journal"


def _prepare() -> None:
    d = fresh_dir("/tmp/hledger")
    (d / "main.journal").write_bytes((KIT / "hledger/seed.journal").read_bytes())
    chown_tree(d)


SPEC = AppSpec(
    name="hledger-web",
    port=5005,
    wait_path="/journal",
    # --base-url is the URL the user sees: the gateway's, not the app's own port.
    command=lambda base: [
        "hledger-web", "--serve", "--host=127.0.0.1", "--port=5005", f"--base-url={base}",
        "--capabilities=view,add,manage", "-f", JOURNAL,
    ],
    env={"HOME": "/tmp/hledger", "LANG": "C.UTF-8"},
    prepare=_prepare,
)


def test_root_303_to_public_url(site: Site) -> None:
    c = site.client()
    r = c.get("/")
    assert r.status == 303, r
    assert r.header("location") == f"{site.base}/journal"
    assert c.cookie("_SESSION"), r.set_cookies
    page = c.get(c.local_path(r.header("location") or ""))
    assert page.status == 200, page
    assert f'src="{site.base}/static/js/jquery.min.js"' in page.text()


def test_add_form_repeated_keys(site: Site) -> None:
    c = site.client()
    page = c.get("/journal")
    token = re.search(r'name="_token" value="([^"]+)"', page.text())
    assert token, page.text()[:2000]
    fields = [
        ("_formid", "identify-add"), ("_token", token.group(1)), ("date", "2026-02-03"),
        ("description", "Café Zürich ✓ & Co"),
        ("account", "expenses:food:café"), ("amount", "3.80 EUR"),
        ("account", "assets:bank:girokonto"), ("amount", ""),
        ("account", ""), ("amount", ""), ("account", ""), ("amount", ""),
    ]
    r = c.post_form("/add", fields)
    assert r.status == 303, r
    assert (r.header("location") or "").startswith(site.base), r
    reg = c.get("/register?q=" + urllib.parse.quote("inacct:expenses:food:café"))
    assert reg.status == 200, reg
    assert "Café Zürich ✓ &amp; Co" in reg.text(), reg.text()[:3000]
    journal = site.read_file(JOURNAL).decode("utf-8")
    assert "Café Zürich ✓ & Co" in journal and "expenses:food:café" in journal


def test_add_without_token_is_refused(site: Site) -> None:
    c = site.client()
    c.get("/journal")
    before = site.read_file(JOURNAL)
    r = c.post_form("/add", [("_formid", "identify-add"), ("date", "2026-02-03"), ("description", "no token"),
                             ("account", "a"), ("amount", "1"), ("account", "b"), ("amount", "")])
    # Yesod answers 200, re-rendering the form (the CSRF check failed), and does not touch the journal.
    assert r.status == 200, r
    assert site.read_file(JOURNAL) == before


def test_json_non_ascii(site: Site) -> None:
    r = site.client().get("/accountnames")
    assert r.status == 200, r
    assert "expenses:food:bäckerei" in r.json()


def test_static_gzip_and_font(site: Site) -> None:
    c = site.client()
    r = c.get("/static/js/jquery.min.js", [("Accept-Encoding", "gzip")])
    assert r.status == 200, r
    assert r.header("content-encoding") == "gzip"
    plain = c.get("/static/js/jquery.min.js")
    assert plain.header("content-encoding") is None
    assert r.decoded() == plain.body and len(plain.body) > 80_000
    font = c.get("/static/fonts/glyphicons-halflings-regular.woff")
    assert font.status == 200 and font.body[:4] == b"wOFF", font


def test_not_found(site: Site) -> None:
    r = site.client().get("/n%C3%B6t-here")
    assert r.status == 404, r
