"""Next.js 16 production build (`next build`, `next start`; docs/apps/nextjs): a prerendered page, server-side rendering
with repeated query keys, streaming SSR (React Suspense) that tells whether it was streamed, next.config redirects
(308, 307) and trailing-slash and server-component redirects, a route handler login setting three cookies, a
multipart upload with non-ASCII names, a Server Action form whose CSRF check compares Origin with Host, public
binaries with Range and HEAD, gzip of pages and build assets."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.parse
import uuid
from pathlib import Path

import pytest
from appkit import (
    GUIDES,
    KIT,
    PASSWORD,
    RANDOM_BIN,
    TEST_PNG,
    AppSpec,
    Client,
    Site,
    fresh_dir,
    is_streaming,
    over_alb_limit,
    query_as_app_sees,
)

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
APP_DIR = KIT / "nextjs"
DATA = Path("/tmp/nextjs")
BOOKS = json.loads((GUIDES / "nextjs" / "data" / "books.json").read_text())


def _prepare() -> None:
    fresh_dir(DATA)


SPEC = AppSpec(
    name="nextjs",
    port=8022,
    wait_path="/",
    command=lambda base: [
        "node", str(APP_DIR / "node_modules/next/dist/bin/next"), "start", str(APP_DIR), "-H", "127.0.0.1",
        "-p", "8022",
    ],
    env={
        "HOME": str(DATA),
        "NODE_ENV": "production",
        "NEXT_TELEMETRY_DISABLED": "1",
        "CATALOGUE_DATA": str(DATA),
        "CATALOGUE_SECRET": "test-secret-same-on-every-instance",
    },
    prepare=_prepare,
)


def _titles(html: str) -> list[str]:
    return re.findall(r'<td class="title">([^<]*)</td>', html)


def _expected_titles(mode: str, query: str) -> list[str]:
    langs = urllib.parse.parse_qs(query_as_app_sees(mode, query)).get("lang", [])
    rows = [(b["year"], i, b["title"]) for i, b in enumerate(BOOKS) if not langs or b["lang"] in langs]
    return [t for _, _, t in sorted(rows)]


def _grouped(pairs: list[list[str]] | list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def _login(c: Client) -> None:
    r = c.post_form("/api/login", [("username", "admin"), ("password", PASSWORD)])
    assert r.status == 303 and r.header("location") == "/account", r
    assert sorted(line.split("=", 1)[0] for line in r.set_cookies) == ["csrf", "session", "theme"], r
    assert any(line.startswith("session=") and "HttpOnly" in line for line in r.set_cookies), r.set_cookies
    assert any(line.startswith("theme=dunkel;") and "Path=/account" in line for line in r.set_cookies), r


def test_prerendered_page_gzip_etag_head(site: Site) -> None:
    c = site.client()
    plain = c.get("/")
    assert plain.status == 200, plain
    assert "Прочтите их все" in plain.text() and plain.header("content-encoding") is None
    gz = c.get("/", [("Accept-Encoding", "gzip")])
    assert gz.status == 200 and gz.header("content-encoding") == "gzip", gz
    assert gz.decoded() == plain.body and len(gz.body) < len(plain.body)
    etag = plain.header("etag")
    assert etag
    r304 = c.get("/", [("If-None-Match", etag)])
    assert r304.status == 304 and r304.body == b"", r304
    h = c.head("/")
    assert h.status == 200 and h.body == b"" and h.header("content-type") == "text/html; charset=utf-8", h


def test_ssr_with_repeated_query_keys(site: Site) -> None:
    q = "lang=ja&lang=zh"
    r = site.client().get("/books?" + q)
    assert r.status == 200, r
    expected = _expected_titles(site.mode, q)
    assert _titles(r.text()) == expected
    assert f"{len(expected)} Bücher" in r.text()
    r = site.client().get("/books?q=" + urllib.parse.quote("толстой"))
    assert _titles(r.text()) == ["Война и мир", "Анна Каренина"], r.text()[:500]


def test_redirects(site: Site) -> None:
    c = site.client()
    r = c.get("/catalogue")
    assert r.status == 308 and r.header("location") == "/books", r
    r = c.get("/sprache/ru")
    assert r.status == 307 and r.header("location") == "/books?lang=ru", r
    page, _ = c.follow(r, "/sprache/ru")
    assert _titles(page.text()) == _expected_titles(site.mode, "lang=ru")
    r = c.get("/books/?lang=ja")
    assert r.status == 308 and r.header("location") == "/books?lang=ja", r
    r = c.get("/account")  # redirect() in a server component
    assert r.status == 307 and r.header("location") == "/login?next=/account", r


def test_login_three_cookies_and_logout(site: Site) -> None:
    c = site.client()
    bad = c.post_form("/api/login", [("username", "admin"), ("password", "wrong")])
    assert bad.status == 401 and not bad.set_cookies, bad
    _login(c)
    page = c.get("/account")
    assert page.status == 200, page
    assert "Angemeldet als <!-- -->Ada Åström" in page.text() or "Angemeldet als Ada Åström" in page.text()
    assert "dunkel" in page.text()  # the cookie with Path=/account came back
    r = c.request("POST", "/api/logout", b"")
    assert r.status == 303 and r.header("location") == "/books", r
    gone = sorted(line.split("=", 1)[0] for line in r.set_cookies if "Expires=Thu, 01 Jan 1970" in line)
    assert gone == ["csrf", "session"], r.set_cookies
    r = c.get("/account")
    assert r.status == 307, r


def test_upload_non_ascii_names_with_csrf_header(site: Site) -> None:
    c = site.client()
    _login(c)
    png = TEST_PNG.read_bytes()
    blob = RANDOM_BIN.read_bytes()[:120_000]
    files = [("files", "Grüße ✓ 東京.png", "image/png", png), ("files", "отчёт.bin", "application/octet-stream", blob)]
    refused = c.post_multipart("/api/upload", [], files)
    assert refused.status == 403, refused
    token = c.cookie("csrf") or ""
    r = c.post_multipart("/api/upload", [], files, [("X-CSRF-Token", token)])
    assert r.status == 201, r
    assert r.json() == [
        {"name": "Grüße ✓ 東京.png", "type": "image/png", "size": len(png), "sha256": hashlib.sha256(png).hexdigest()},
        {"name": "отчёт.bin", "type": "application/octet-stream", "size": len(blob),
         "sha256": hashlib.sha256(blob).hexdigest()},
    ]
    anon = Client(site.base).post_multipart("/api/upload", [], files, [("X-CSRF-Token", token)])
    assert anon.status == 401, anon


def test_server_action_form_and_origin_check(site: Site) -> None:
    """A Server Action posted as a plain form: accepted with the site's own Origin, refused with a foreign one.

    Next.js compares Origin with X-Forwarded-Host or Host: an adapter that hands the app another Host than the
    one the browser used breaks every such form.
    """
    c = site.client()
    page = c.get("/guestbook")
    assert page.status == 200, page
    m = re.search(r'name="(\$ACTION_ID_[0-9a-f]+)"', page.text())
    assert m, page.text()[:3000]
    origin = f"http://{c.host}"
    foreign = c.post_multipart("/guestbook", [(m.group(1), ""), ("text", "böse")],
                               [], [("Origin", "http://evil.example")])
    assert foreign.status == 500, foreign
    entry = "Grüße aus Köln ✓ — 東京"
    r = c.post_multipart("/guestbook", [(m.group(1), ""), ("text", entry)], [], [("Origin", origin)])
    assert r.status == 303 and r.header("location") == "/guestbook", r
    after = c.get("/guestbook")
    assert re.findall(r"<li>([^<]*)</li>", after.text()) == [entry], after.text()[-2000:]


def test_public_binary_range_head(site: Site) -> None:
    c = site.client()
    original = RANDOM_BIN.read_bytes()
    r = c.get("/archive.bin")
    if over_alb_limit(site.mode, len(original), binary=True):
        assert r.status == 502, r  # 1,000,000 B base64-encoded is more than ALB's 1 MB: reweb answers 502
    else:
        assert r.status == 200 and r.body == original, r
    part = c.get("/archive.bin", [("Range", "bytes=100-199")])
    assert part.status == 206 and part.body == original[100:200], part
    assert part.header("content-range") == f"bytes 100-199/{len(original)}"
    h = c.head("/archive.bin")
    assert h.status == 200 and h.header("content-length") == str(len(original)) and h.body == b"", h
    cover = c.get("/cover.png")
    assert cover.status == 200 and cover.body == TEST_PNG.read_bytes(), cover
    assert cover.header("content-type") == "image/png"


def test_build_assets_gzip_and_immutable(site: Site) -> None:
    c = site.client()
    html = c.get("/").text()
    css = re.search(r'href="(/_next/static/[^"]+\.css)"', html)
    assert css, html[:1000]
    r = c.get(css.group(1), [("Accept-Encoding", "gzip")])
    assert r.status == 200 and r.header("content-encoding") == "gzip", r
    assert r.header("cache-control") == "public, max-age=31536000, immutable"
    on_disk = next((APP_DIR / ".next" / "static").rglob(css.group(1).rsplit("/", 1)[1]))
    assert r.decoded() == on_disk.read_bytes()


def test_echo_query_and_cookies(site: Site) -> None:
    c = site.client()
    q = "a=1&a=2&b=x%2By+z&c=%26%3D&empty=&a=3"
    r = c.get("/api/echo?" + q, [("Cookie", "eins=1; zwei=zw%C3%B6lf")])
    assert r.status == 200, r
    doc = r.json()
    assert isinstance(doc, dict)
    expected = urllib.parse.parse_qsl(query_as_app_sees(site.mode, q), keep_blank_values=True)
    # Per key, every value in order (REST, ALB multi-value and Lattice carry the query as a key -> values map).
    assert _grouped(doc["query"]) == _grouped(expected), doc
    assert doc["cookies"] == [["eins", "1"], ["zwei", "zwölf"]], doc


def test_streamed_ssr_reaches_client_before_its_end(site: Site) -> None:
    """The shell with the Suspense fallback must reach the client while the server still renders the rest.

    The page finishes with "stream released" only if a file appears that the test creates after it has seen the
    fallback; buffered front doors deliver nothing before the end, so there the page gives up and says so.
    """
    token = uuid.uuid4().hex
    parts = urllib.parse.urlsplit(site.base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.request("GET", f"/live?token={token}&wait=5")
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        seen = b""
        while b'id="fallback"' not in seen:
            chunk = resp.read1(65536)
            assert chunk, seen[-500:]
            seen += chunk
        (DATA / f"release-{token}").touch()
        seen += resp.read()
    finally:
        conn.close()
    outcome = re.search(rb'id="outcome">([^<]+)<', seen)
    assert outcome, seen[-2000:]
    streamed = site.mode == "direct" or is_streaming(site.mode)
    assert outcome.group(1) == (b"stream released" if streamed else b"stream not released"), site.mode


def test_not_found(site: Site) -> None:
    r = site.client().get("/n%C3%B6pe")
    assert r.status == 404 and "This page could not be found" in r.text(), r
