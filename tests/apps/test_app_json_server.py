"""json-server 0.17 (Node, Express): a JSON REST API over a file in /tmp. 201 with Location, 404, CORS preflight 204,
repeated and non-ASCII query keys, pagination headers, PATCH/DELETE, static files with weak ETags and 304."""

from __future__ import annotations

import shutil

import pytest
from appkit import KIT, TEST_PNG, AppSpec, Response, Site, chown_tree, fresh_dir, repeats

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
HOME = KIT / "node" / "json-server"


def _prepare() -> None:
    d = fresh_dir("/tmp/json-server")
    shutil.copy(KIT / "json-server" / "db.seed.json", d / "db.json")
    chown_tree(d)


SPEC = AppSpec(
    name="json-server",
    port=3001,
    wait_path="/posts",
    command=lambda base: [
        "node", str(HOME / "node_modules/json-server/lib/cli/bin.js"), "/tmp/json-server/db.json",
        "--host", "127.0.0.1", "--port", "3001", "--static", "public",
    ],
    cwd=str(KIT / "json-server"),  # json-server joins --static to the working directory
    env={"HOME": "/tmp/json-server"},
    prepare=_prepare,
)


def _ids(r: Response) -> list[object]:
    """The ids of the posts a listing answered."""
    posts = r.json()
    assert isinstance(posts, list), posts
    return [p["id"] for p in posts]


def test_repeated_key_and_sort(site: Site) -> None:
    r = site.client().get("/posts?id=1&id=3&_sort=id&_order=desc")
    assert r.status == 200, r
    # `id=1&id=3` selects both posts; under ALB single-value only `id=3` arrives (AWS: docs/apps/json-server.md).
    assert _ids(r) == sorted(repeats(site.mode, [1, 3]), reverse=True)


def test_non_ascii_and_reserved_characters_in_query(site: Site) -> None:
    c = site.client()
    r = c.get("/posts?author=j%C3%BCrgen")
    assert _ids(r) == [1, 3]
    r = c.get("/posts?title=a%2Bb%3Dc%20%26%20d")
    assert _ids(r) == [2]
    r = c.get("/posts?title=a+b%3Dc")  # `+` is a space in a query: no match
    assert r.json() == []


def test_pagination_headers(site: Site) -> None:
    r = site.client().get("/posts?_page=1&_limit=2")
    assert r.status == 200, r
    assert r.header("x-total-count") == "3"
    link = r.header("link") or ""
    assert 'rel="first"' in link and 'rel="next"' in link and 'rel="last"' in link, link
    assert "x-total-count" in (r.header("access-control-expose-headers") or "").lower()


def test_create_update_delete(site: Site) -> None:
    c = site.client()
    r = c.post_json("/posts", {"title": "Neu ✓", "author": "zoë"})
    assert r.status == 201, r
    created = r.json()
    assert isinstance(created, dict), created
    assert created == {"title": "Neu ✓", "author": "zoë", "id": created["id"]}
    loc = r.header("location") or ""
    assert loc.endswith(f"/posts/{created['id']}"), loc
    r = c.request("PATCH", f"/posts/{created['id']}", b'{"title":"ge\\u00e4ndert"}',
                  [("Content-Type", "application/json")])
    assert r.status == 200 and r.json()["title"] == "geändert", r
    r = c.request("DELETE", f"/posts/{created['id']}")
    assert r.status == 200, r
    assert c.get(f"/posts/{created['id']}").status == 404


def test_form_post_with_repeated_keys(site: Site) -> None:
    r = site.client().post_form("/comments", [("body", "x&y=z"), ("tag", "a"), ("tag", "b"), ("postId", "1")])
    assert r.status == 201, r
    doc = r.json()
    assert doc["body"] == "x&y=z" and doc["tag"] == ["a", "b"], doc


def test_invalid_json_is_400(site: Site) -> None:
    r = site.client().request("POST", "/posts", b'{"title": ', [("Content-Type", "application/json")])
    assert r.status == 400, r  # body-parser's SyntaxError, answered by Express


def test_cors_preflight_204(site: Site) -> None:
    r = site.client().request(
        "OPTIONS", "/posts",
        headers=[("Origin", "https://example.org"), ("Access-Control-Request-Method", "DELETE"),
                 ("Access-Control-Request-Headers", "x-custom, content-type")],
    )
    assert r.status == 204, r
    assert r.header("access-control-allow-origin") == "https://example.org"
    assert r.header("access-control-allow-credentials") == "true"
    assert "DELETE" in (r.header("access-control-allow-methods") or "")
    assert r.body == b""


def test_static_binary_and_304(site: Site) -> None:
    c = site.client()
    r = c.get("/test.png")
    assert r.status == 200, r
    assert r.header("content-type") == "image/png"
    assert r.body == TEST_PNG.read_bytes()
    etag = r.header("etag") or ""
    assert etag.startswith('W/"'), etag
    r2 = c.get("/test.png", [("If-None-Match", etag)])
    assert r2.status == 304, r2
    assert r2.body == b""


def test_singular_resource_and_head(site: Site) -> None:
    c = site.client()
    r = c.get("/profile")
    assert r.status == 200 and r.json() == {"name": "typicode"}, r
    h = c.head("/posts")
    assert h.status == 200, h
    assert h.body == b""
    assert h.header("content-type") == "application/json; charset=utf-8"
