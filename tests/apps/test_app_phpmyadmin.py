"""phpMyAdmin 5.2 (Debian, PHP 8.2 on the built-in `php -S` server) on MariaDB: a cookie login answered by three
Set-Cookie and a Location with a repeated query key, a logout whose answer sets the same cookie twice (the deletion
last, so order matters), SQL through the CSRF-token form (a forged token refused), a gzip export downloaded as a
binary attachment, an SQL import from an uploaded file with a non-ASCII name, pages gzipped by PHP, HEAD, repeated
query keys, static files."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from appkit import KIT, MARIADB_PORT, AppSpec, Client, Site, fresh_dir, mysql

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
NEEDS = ("mariadb",)
PASSWORD = "s3cret-Pass"
PMA = Path("/usr/share/phpmyadmin")


def _prepare() -> None:
    fresh_dir("/tmp/phpmyadmin")
    mysql(
        "DROP DATABASE IF EXISTS pma_demo; CREATE DATABASE pma_demo CHARACTER SET utf8mb4;"
        f"CREATE USER IF NOT EXISTS 'pma'@'%' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON pma_demo.* TO 'pma'@'%';"
        "CREATE TABLE pma_demo.`städte` (id int primary key auto_increment, name varchar(100), land char(2))"
        " CHARSET utf8mb4;"
        "INSERT INTO pma_demo.`städte` (name, land) VALUES ('München', 'DE'), ('Zürich', 'CH'), ('東京', 'JP');"
    )


SPEC = AppSpec(
    name="phpmyadmin",
    port=8031,
    wait_path="/index.php",
    command=lambda base: [str(KIT / "phpmyadmin/start.sh")],
    env={"PMA_PORT": "8031", "PMA_DB_PORT": str(MARIADB_PORT)},
    prepare=_prepare,
)


def _token(html: str) -> str:
    m = re.search(r'name="token" value="([0-9a-zA-Z]+)"', html)
    assert m, html[:2000]
    return m.group(1)


def _login(c: Client) -> str:
    """Log in as the login form does; return the CSRF token of the logged-in session."""
    first = c.get("/")
    assert first.status == 200, first
    assert sorted(line.split("=", 1)[0] for line in first.set_cookies) == ["phpMyAdmin", "pma_lang"], first
    r = c.post_form("/index.php?route=/", [
        ("route", "/"), ("token", _token(first.text())), ("set_session", c.cookie("phpMyAdmin") or ""),
        ("pma_username", "pma"), ("pma_password", PASSWORD), ("server", "1"),
    ])
    assert r.status == 302, (r, r.text()[:2000])
    # Three cookies in one answer: the regenerated session, the encrypted user name and the encrypted password.
    assert sorted(line.split("=", 1)[0] for line in r.set_cookies) == ["phpMyAdmin", "pmaAuth-1", "pmaUser-1"], r
    # phpMyAdmin repeats `route` in its own redirect; PHP reads the last one.
    assert r.header("location") == "/index.php?route=/&route=%2F", r
    home, _ = c.follow(r, "/index.php?route=/")
    assert home.status == 200, home
    assert "pma_demo" in home.text() and "Log out" in home.text(), home.text()[:2000]
    return _token(home.text())


def test_login_cookies_and_logout(site: Site) -> None:
    c = site.client()
    token = _login(c)
    r = c.post_form("/index.php?route=/logout", [("token", token)])
    assert r.status == 302 and r.header("location") == "/index.php?route=/", r
    auth = [line for line in r.set_cookies if line.startswith("pmaAuth-1=")]
    # Set, then deleted, in one answer: a client keeps the last, so reordering these logs nobody out.
    assert len(auth) == 2 and auth[1].startswith("pmaAuth-1=deleted;"), r.set_cookies
    assert c.cookie("pmaAuth-1") is None
    page = c.get("/index.php?route=/")
    assert 'name="pma_username"' in page.text(), page.text()[:2000]


def test_wrong_password(site: Site) -> None:
    c = site.client()
    first = c.get("/")
    r = c.post_form("/index.php?route=/", [
        ("route", "/"), ("token", _token(first.text())), ("pma_username", "pma"), ("pma_password", "wrong"),
        ("server", "1"),
    ])
    assert r.status == 200, r
    assert "Access denied for user" in r.text() and c.cookie("pmaAuth-1") is None, r.text()[:3000]


def test_sql_query_with_csrf_token(site: Site) -> None:
    c = site.client()
    token = _login(c)
    query = "SELECT CONCAT(name, ' ✓') AS n FROM `städte` WHERE land IN ('DE', 'CH') ORDER BY id"
    r = c.post_form("/index.php?route=/import", [
        ("route", "/import"), ("db", "pma_demo"), ("token", token), ("sql_query", query),
        ("ajax_request", "true"), ("server", "1"),
    ])
    assert r.status == 200 and (r.header("content-type") or "").startswith("application/json"), r
    doc = r.json()
    assert isinstance(doc, dict) and doc.get("success") is True, doc
    assert "München ✓" in doc["message"] and "Zürich ✓" in doc["message"] and "東京" not in doc["message"], doc
    forged = c.post_form("/index.php?route=/import", [
        ("route", "/import"), ("db", "pma_demo"), ("token", "0" * 32), ("sql_query", "DROP TABLE `städte`"),
        ("ajax_request", "true"), ("server", "1"),
    ])
    doc = forged.json()
    assert isinstance(doc, dict) and doc.get("success") is False and "Token mismatch" in doc["error"], doc
    assert mysql("SELECT COUNT(*) FROM pma_demo.`städte`").strip() == "3"


def test_export_gzip_attachment(site: Site) -> None:
    c = site.client()
    token = _login(c)
    r = c.post_form("/index.php?route=/export", [
        ("route", "/export"), ("db", "pma_demo"), ("table", "städte"), ("export_type", "table"),
        ("export_method", "quick"), ("what", "sql"), ("output_format", "sendit"), ("compression", "gzip"),
        ("token", token), ("server", "1"), ("filename_template", "@TABLE@"), ("charset", "utf-8"),
        ("sql_structure_or_data", "structure_and_data"), ("sql_create_table", "something"),
        ("sql_type", "INSERT"), ("sql_insert_syntax", "both"), ("sql_max_query_size", "50000"),
    ])
    assert r.status == 200, (r, r.text()[:1000])
    assert r.header("content-type") == "application/x-gzip", r
    # phpMyAdmin makes the non-ASCII table name ASCII-safe in the file name.
    assert r.header("content-disposition") == 'attachment; filename="st__dte.sql.gz"', r
    assert r.header("content-encoding") is None and r.body[:2] == b"\x1f\x8b", r
    dump = gzip.decompress(r.body).decode()
    assert "CREATE TABLE städte (" in dump, dump
    assert "(1, 'München', 'DE')" in dump and "(3, '東京', 'JP')" in dump, dump


def test_import_upload_non_ascii_filename(site: Site) -> None:
    c = site.client()
    token = _login(c)
    sql = ("CREATE TABLE `grüße` (id int primary key, txt varchar(50)) CHARSET utf8mb4;\n"
           "INSERT INTO `grüße` VALUES (1, 'Привет ✓'), (2, 'a+b=c & d');\n").encode()
    r = c.post_multipart(
        "/index.php?route=/import",
        [("route", "/import"), ("db", "pma_demo"), ("token", token), ("server", "1"), ("import_type", "database"),
         ("format", "sql"), ("charset_of_file", "utf-8"), ("sql_compatibility", "NONE"), ("skip_queries", "0")],
        [("import_file", "Grüße ✓ дамп.sql", "application/sql", sql)],
    )
    assert r.status == 200, r
    assert "Import has been successfully finished, 2 queries executed.</em> (Grüße ✓ дамп.sql)" in r.text(), (
        r.text()[-5000:])
    assert mysql("SELECT txt FROM pma_demo.`grüße` ORDER BY id").splitlines() == ["Привет ✓", "a+b=c & d"]


def test_repeated_query_keys_and_non_ascii_query(site: Site) -> None:
    c = site.client()
    _login(c)
    # PHP keeps the last of repeated keys (as ALB's single-value mode does): db=pma_demo wins.
    r = c.get("/index.php?route=/sql&db=nope&db=pma_demo&table=st%C3%A4dte&pos=0")
    assert r.status == 200, r
    assert "München" in r.text() and "東京" in r.text() and "Zürich" in r.text(), r.text()[:3000]


def test_gzip_pages_head_and_static(site: Site) -> None:
    c = site.client()
    page = c.get("/index.php?route=/", [("Accept-Encoding", "gzip")])
    assert page.status == 200 and page.header("content-encoding") == "gzip", page
    assert 'name="pma_username"' in page.text(), page.text()[:2000]
    plain = c.get("/index.php?route=/")
    assert plain.header("content-encoding") is None and b'name="pma_username"' in plain.body, plain
    h = c.head("/index.php?route=/")
    assert h.status == 200 and h.body == b"" and (h.header("content-type") or "").startswith("text/html"), h
    ico = c.get("/favicon.ico")
    assert ico.status == 200 and ico.body == (PMA / "favicon.ico").read_bytes(), ico
    js = c.get("/js/vendor/jquery/jquery.min.js?v=5.2.1deb1%2Bdeb12u1")
    assert js.status == 200 and js.body == (PMA / "js/vendor/jquery/jquery.min.js").read_bytes(), js
    missing = c.get("/n%C3%B6-such-file.js")
    assert missing.status == 404, missing
