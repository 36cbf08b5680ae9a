"""Adminer 4.8 (PHP 8.2 on the built-in `php -S` server) on PostgreSQL: two cookies scoped to the script path,
a login POST with PHP array keys (`auth[driver]`) answered by a relative redirect, nested PHP array keys in a query,
immutable static resources."""

from __future__ import annotations

import re

import pytest
from appkit import PG_PORT, AppSpec, Client, Site, fresh_dir, psql

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
NEEDS = ("postgres",)


def _prepare() -> None:
    fresh_dir("/tmp/adminer")
    psql("drop database if exists adminer_demo")
    psql("create database adminer_demo")
    psql(
        "create table docs (id serial primary key, title text not null);"
        "insert into docs (title) values ('Grüße ✓'), ('Hallo & Tschüss'), ('a+b=c');",
        db="adminer_demo",
    )


SPEC = AppSpec(
    name="adminer",
    port=8004,
    wait_path="/adminer.php",
    command=lambda base: [
        "php", "-S", "127.0.0.1:8004", "-t", "/usr/share/adminer",
        "-d", "session.save_path=/tmp/adminer", "-d", "upload_tmp_dir=/tmp/adminer", "-d", "sys_temp_dir=/tmp/adminer",
    ],
    prepare=_prepare,
)


def _login(c: Client) -> str:
    first = c.get("/adminer.php")
    assert first.status == 200, first
    names = sorted(line.split("=", 1)[0] for line in first.set_cookies)
    assert names == ["adminer_key", "adminer_sid"], first.set_cookies
    assert all("path=/adminer.php" in line for line in first.set_cookies), first.set_cookies
    r = c.post_form(
        "/adminer.php",
        [("auth[driver]", "pgsql"), ("auth[server]", f"127.0.0.1:{PG_PORT}"), ("auth[username]", "postgres"),
         ("auth[password]", "x"), ("auth[db]", "adminer_demo"), ("auth[permanent]", "1")],
    )
    assert r.status == 302, r
    loc = r.header("location") or ""
    # A relative Location: the browser resolves it against /adminer.php.
    assert loc == f"adminer.php?pgsql=127.0.0.1%3A{PG_PORT}&username=postgres&db=adminer_demo", loc
    page, target = c.follow(r, "/adminer.php")
    assert page.status == 200, page
    # Adminer then adds the schema: `...&ns=public`.
    assert target.startswith("/" + loc), target
    return target


def test_login_and_relative_redirect(site: Site) -> None:
    c = site.client()
    target = _login(c)
    page = c.get(target)
    assert page.status == 200, page
    assert "docs" in page.text() and "Logout" in page.text(), page.text()[:2000]


def test_select_with_nested_php_array_keys(site: Site) -> None:
    c = site.client()
    target = _login(c)
    q = (target + "&select=docs&where%5B0%5D%5Bcol%5D=title&where%5B0%5D%5Bop%5D=LIKE+%25%25"
         "&where%5B0%5D%5Bval%5D=Gr%C3%BC")
    r = c.get(q)
    assert r.status == 200, r
    assert "Grüße ✓" in r.text()
    assert "Hallo &amp; Tschüss" not in r.text()
    r = c.get(target + "&select=docs&where%5B0%5D%5Bcol%5D=title&where%5B0%5D%5Bop%5D=%3D"
              "&where%5B0%5D%5Bval%5D=a%2Bb%3Dc")
    assert "a+b=c" in r.text() and "Grüße" not in r.text()


def test_sql_command_form_with_csrf_token(site: Site) -> None:
    c = site.client()
    target = _login(c)
    form = c.get(target + "&sql=")
    token = re.search(r'name="token" value="([^"]+)"', form.text())
    assert token, form.text()[:2000]
    r = c.post_form(target + "&sql=", [("query", "select upper(title) as t from docs order by id"),
                                       ("limit", ""), ("token", token.group(1))])
    assert r.status == 200, r
    assert "GRÜSSE ✓" in r.text() or "GRÜßE ✓" in r.text(), r.text()[:3000]
    bad = c.post_form(target + "&sql=", [("query", "select 1"), ("limit", ""), ("token", "123456:654321")])
    assert "Invalid CSRF token" in bad.text(), bad.text()[:3000]


def test_static_resources(site: Site) -> None:
    c = site.client()
    r = c.get("/adminer.php?file=default.css&version=4.8.1")
    assert r.status == 200, r
    assert "immutable" in (r.header("cache-control") or ""), r
    assert "text/css" in (r.header("content-type") or "")
    ico = c.get("/adminer.php?file=favicon.ico&version=4.8.1")
    assert ico.status == 200 and ico.header("content-type") == "image/x-icon", ico
    assert ico.body[:4] == b"\x00\x00\x01\x00"


def test_wrong_password(site: Site) -> None:
    c = site.client()
    c.get("/adminer.php")
    r = c.post_form("/adminer.php", [("auth[driver]", "pgsql"), ("auth[server]", "127.0.0.1:1"),
                                     ("auth[username]", "nobody"), ("auth[password]", "x"), ("auth[db]", "")])
    page, _ = c.follow(r, "/adminer.php")
    assert page.status == 403, page
    assert "<div class='error'>Connecting to privileged ports is not allowed.</div>" in page.text(), page.text()[:3000]
