"""WordPress 6.1 (PHP 8.2) on Apache prefork + mod_php with MariaDB: the installer through the public URL, a login that
sends two Set-Cookie headers with the same name, a multipart media upload read back byte for byte, the REST API with
cookie + nonce (201 with Location, 401 without), a non-ASCII permalink and its 301, PHP array keys in queries, a
comment POST answered by a Location with a fragment and three cookies, fonts and a 780 KB script gzipped by Apache."""

from __future__ import annotations

import re
import shutil
import urllib.parse
from pathlib import Path

import pytest
from appkit import KIT, TEST_PNG, AppSpec, Client, Site, fresh_dir, mysql, over_alb_limit, repeats

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
NEEDS = ("mariadb",)
PASSWORD = "s3cret-Pass-123"
WP = Path("/usr/share/wordpress")


def _prepare() -> None:
    fresh_dir("/tmp/apache-wp")
    # start.sh copies wp-content afresh, as the app's user; a copy left by another run's user (each run has its
    # own) is not that user's to remove: root clears it, as a new sandbox's /tmp is empty.
    shutil.rmtree("/tmp/wp-content", ignore_errors=True)
    mysql("DROP DATABASE IF EXISTS wordpress; CREATE DATABASE wordpress CHARACTER SET utf8mb4;"
          "CREATE USER IF NOT EXISTS 'wp'@'%' IDENTIFIED BY 'wp'; GRANT ALL ON wordpress.* TO 'wp'@'%';")


def _install(c: Client) -> None:
    """WordPress fixes its site URL from the Host header of the installer request: run it through the public URL."""
    r = c.post_form("/wp-admin/install.php?step=2", [
        ("weblog_title", "Testblog Ünïcode"), ("user_name", "admin"), ("admin_password", PASSWORD),
        ("admin_password2", PASSWORD), ("pw_weak", "1"), ("admin_email", "admin@example.com"), ("blog_public", "0"),
    ])
    assert r.status == 200 and "<h1>Success!</h1>" in r.text(), (r, r.text()[:2000])
    # The installer turns pretty permalinks on only if a request it sends to its own public URL succeeds. Behind a
    # single-instance function that request cannot be served while the installer's own request is in flight, so the
    # structure is set here, as a deployment step (the same for every mode).
    mysql("UPDATE wordpress.wp_options SET option_value='/%year%/%monthnum%/%day%/%postname%/' "
          "WHERE option_name='permalink_structure';"
          "DELETE FROM wordpress.wp_options WHERE option_name='rewrite_rules';")


SPEC = AppSpec(
    name="wordpress",
    port=8003,
    wait_path="/wp-login.php",
    command=lambda base: [str(KIT / "wordpress/start.sh")],
    env={"WP_PORT": "8003", "WP_HTTPD_CONF": str(KIT / "wordpress/httpd.conf")},
    prepare=_prepare,
    after_start=_install,
)


def _login(c: Client) -> list[str]:
    c.get("/wp-login.php")
    assert c.cookie("wordpress_test_cookie"), "GET /wp-login.php sets the test cookie"
    r = c.post_form("/wp-login.php", [("log", "admin"), ("pwd", PASSWORD), ("wp-submit", "Log In"),
                                      ("redirect_to", c.url("/wp-admin/")), ("testcookie", "1")])
    assert r.status == 302, (r, r.text()[:2000])
    assert r.header("location") == c.url("/wp-admin/"), r
    return r.set_cookies


def test_login_two_cookies_same_name(site: Site) -> None:
    c = site.client()
    lines = _login(c)
    auth = [line for line in lines if re.match(r"wordpress_[0-9a-f]{32}=", line)]
    # The same cookie name twice, with different paths: a dict keyed by name would lose one.
    assert len(auth) == 2, lines
    assert {re.search(r"path=([^;]+)", line).group(1) for line in auth} == {  # type: ignore[union-attr]
        "/wp-content/plugins", "/wp-admin"}, auth
    assert any(line.startswith("wordpress_logged_in_") for line in lines), lines
    dash = c.get("/wp-admin/")
    assert dash.status == 200 and "Dashboard" in dash.text(), dash


def test_wrong_password(site: Site) -> None:
    c = site.client()
    c.get("/wp-login.php")
    r = c.post_form("/wp-login.php", [("log", "admin"), ("pwd", "wrong"), ("testcookie", "1")])
    assert r.status == 200 and "is incorrect" in r.text(), r
    assert c.get("/wp-admin/").status == 302


def test_media_upload_bytes(site: Site) -> None:
    c = site.client()
    _login(c)
    page = c.get("/wp-admin/media-new.php?browser-uploader")
    nonce = re.search(r'name="_wpnonce" value="([0-9a-f]+)"', page.text())
    assert nonce, page.text()[:2000]
    png = TEST_PNG.read_bytes()
    r = c.post_multipart("/wp-admin/media-new.php",
                         [("post_id", "0"), ("_wpnonce", nonce.group(1)),
                          ("_wp_http_referer", "/wp-admin/media-new.php"), ("html-upload", "Upload")],
                         [("async-upload", "Grüße ✓.png", "image/png", png)])
    assert r.status == 302 and (r.header("location") or "").startswith(c.url("/wp-admin/upload.php")), r
    # The comma form of _fields: the same in every mode (repeated keys are tested in test_rest_201_permalink_301).
    media = c.get("/?rest_route=/wp/v2/media&_fields=source_url,mime_type")
    assert media.status == 200, media
    items = media.json()
    assert len(items) == 1 and items[0]["mime_type"] == "image/png", items
    got = c.get(c.local_path(items[0]["source_url"]))
    assert got.status == 200 and got.header("content-type") == "image/png", got
    assert got.body == png


def _nonce(c: Client) -> str:
    r = c.get("/wp-admin/admin-ajax.php?action=rest-nonce")
    assert r.status == 200 and re.fullmatch(r"[0-9a-f]{10}", r.text()), r
    return r.text()


def _norm(path: str) -> str:
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), path)


def test_rest_201_permalink_301(site: Site) -> None:
    c = site.client()
    _login(c)
    r = c.post_json("/?rest_route=/wp/v2/posts", {"title": "Привет мир", "content": "Grüße ✓", "status": "publish"},
                    [("X-WP-Nonce", _nonce(c))])
    assert r.status == 201, (r, r.text()[:1000])
    post = r.json()
    assert r.header("location") == c.url(f"/wp-json/wp/v2/posts/{post['id']}"), r
    link = urllib.parse.urlsplit(post["link"])
    assert link.path.endswith("/%d0%bf%d1%80%d0%b8%d0%b2%d0%b5%d1%82-%d0%bc%d0%b8%d1%80/"), link
    page = c.get(link.path)
    assert page.status == 200 and "Grüße ✓" in page.text(), page
    upper = c.get(link.path.upper().replace("%D0", "%D0").rstrip("/"))
    assert upper.status in (301, 404), upper
    short = c.get(link.path.rstrip("/"))
    # WordPress echoes the request's own %-escapes. HTTP API hands the path over decoded, so reweb re-encodes it
    # (upper-case hex): an equivalent URI (RFC 3986, 6.2.2.1), so the comparison ignores the case of the escapes.
    assert short.status == 301, short
    assert _norm(urllib.parse.urlsplit(short.header("location") or "").path) == _norm(link.path), short
    byid = c.get(f"/?p={post['id']}")
    assert byid.status == 301 and urllib.parse.urlsplit(byid.header("location") or "").path == link.path, byid
    pretty = c.get(f"/wp-json/wp/v2/posts/{post['id']}?_fields[]=id&_fields[]=title")
    # Under ALB single-value only the last _fields[] (title) reaches WordPress (an AWS limit: docs/apps/wordpress.md).
    full = {"id": post["id"], "title": {"rendered": "Привет мир"}}
    assert pretty.json() == {k: full[k] for k in repeats(site.mode, ["id", "title"])}, pretty


def test_rest_401_and_array_keys(site: Site) -> None:
    c = site.client()
    r = c.post_json("/?rest_route=/wp/v2/posts", {"title": "nope"})
    assert r.status == 401, r
    assert r.json()["code"] == "rest_cannot_create"
    r = c.get("/?rest_route=/wp/v2/posts&_fields[]=id&_fields%5B%5D=link&per_page=1")
    assert r.status == 200, r
    posts = r.json()
    assert isinstance(posts, list), posts
    assert [sorted(p) for p in posts] == [["id", "link"]], posts
    total = r.header("x-wp-total") or ""
    assert total.isdigit() and int(total) >= 1 and r.header("x-wp-totalpages") == total, r  # per_page=1
    r = c.get("/wp-json/wp/v2/posts?search=Hello+world&per_page=1")
    assert r.status == 200, r
    posts = r.json()
    assert isinstance(posts, list) and [p["slug"] for p in posts] == ["hello-world"], r
    r = c.get("/wp-json/wp/v2/nope")
    assert r.status == 404, r


def test_comment_redirect_with_fragment_and_cookies(site: Site) -> None:
    c = site.client()
    r = c.post_form("/wp-comments-post.php", [
        ("comment", "Schöner Beitrag & danke! a+b=c"), ("author", "Jürgen Groß"), ("email", "j@example.com"),
        ("url", ""), ("wp-comment-cookies-consent", "yes"), ("comment_post_ID", "1"), ("comment_parent", "0"),
    ])
    assert r.status == 302, (r, r.text()[:2000])
    loc = r.header("location") or ""
    assert re.search(r"#comment-\d+$", loc), loc
    names = sorted(line.split("=", 1)[0] for line in r.set_cookies)
    assert len(names) == 3 and all(n.startswith("comment_author_") for n in names), r.set_cookies
    author = next(line for line in r.set_cookies if re.match(r"comment_author_[0-9a-f]{32}=", line))
    assert author.split(";")[0].split("=", 1)[1] == "J%C3%BCrgen%20Gro%C3%9F", author
    page = c.get(c.local_path(loc.split("#")[0]))
    assert "Schöner Beitrag &amp; danke! a+b=c" in page.text(), page.text()[:2000]


def test_static_font_and_large_js(site: Site) -> None:
    c = site.client()
    font = "/wp-content/themes/twentytwentythree/assets/fonts/source-serif-pro/SourceSerif4Variable-Roman.ttf.woff2"
    want = (WP / font.lstrip("/")).read_bytes()
    r = c.get(font)
    if over_alb_limit(site.mode, len(want), binary=True):
        assert r.status == 502, r  # 428 KB binary fits, so this branch documents the rule rather than runs
    else:
        assert r.status == 200 and r.header("content-type") == "font/woff2" and r.body == want, r
    js = "/wp-includes/js/dist/block-editor.min.js"
    want = (WP / js.lstrip("/")).read_bytes()
    gz = c.get(js, [("Accept-Encoding", "gzip")])
    assert gz.status == 200 and gz.header("content-encoding") == "gzip", gz
    assert gz.decoded() == want
    plain = c.get(js)
    assert plain.status == 200 and plain.body == want, plain
    logo = c.get("/wp-includes/images/w-logo-blue.png")
    assert logo.status == 200 and logo.body == (WP / "wp-includes/images/w-logo-blue.png").read_bytes()


def test_head_and_not_found(site: Site) -> None:
    c = site.client()
    h = c.head("/wp-includes/js/dist/block-editor.min.js")
    assert h.status == 200 and h.body == b"", h
    r = c.get("/n%C3%B6-such-page/?x=1")
    assert r.status == 404, r
