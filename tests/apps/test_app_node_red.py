"""Node-RED 4.1 (Node, Express): 401 with WWW-Authenticate, an OAuth password-grant login, a flow deployed through the
admin API, then the flow's own endpoints: non-ASCII path parameters, repeated and reserved query characters, three
cookies, a multipart upload of two binary files; and multi-megabyte editor bundles."""

from __future__ import annotations

import json
import time

import pytest
from appkit import KIT, RANDOM_BIN, TEST_PNG, AppSpec, Client, Site, fresh_dir, over_alb_limit, repeats

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
HOME = KIT / "node" / "node-red"
PKG = HOME / "node_modules" / "@node-red" / "editor-client" / "public"


def _prepare() -> None:
    fresh_dir("/tmp/node-red")


SPEC = AppSpec(
    name="node-red",
    port=1881,
    wait_path="/",
    command=lambda base: [
        "node", str(HOME / "node_modules/node-red/red.js"), "--settings", str(KIT / "node-red/settings.js"),
        "--userDir", "/tmp/node-red",
    ],
    env={"HOME": "/tmp/node-red", "NODE_RED_PORT": "1881"},
    prepare=_prepare,
)


def _token(c: Client) -> str:
    r = c.post_form("/auth/token", [("client_id", "node-red-editor"), ("grant_type", "password"), ("scope", "*"),
                                    ("username", "admin"), ("password", "s3cret-Pass")])
    assert r.status == 200, r
    tok = r.json()["access_token"]
    assert isinstance(tok, str) and tok
    return tok


def _deploy(c: Client) -> None:
    tok = _token(c)
    flow = json.loads((KIT / "node-red/flow.json").read_text())
    r = c.request("POST", "/flows", json.dumps(flow).encode(),
                  [("Content-Type", "application/json"), ("Authorization", f"Bearer {tok}"),
                   ("Node-RED-API-Version", "v2"), ("Node-RED-Deployment-Type", "full")])
    assert r.status == 200, r
    # The deploy answers before the new flow's routes are mounted: wait for them (bounded).
    deadline = time.monotonic() + 15
    while c.get("/echo/ready").status == 404 and time.monotonic() < deadline:
        time.sleep(0.1)


def test_admin_api_401_then_bearer(site: Site) -> None:
    c = site.client()
    r = c.get("/flows")
    assert r.status == 401, r
    assert r.header("www-authenticate") == 'Bearer realm="Users"'
    r = c.post_form("/auth/token", [("client_id", "node-red-editor"), ("grant_type", "password"), ("scope", "*"),
                                    ("username", "admin"), ("password", "wrong")])
    assert r.status in (401, 403), r
    tok = _token(c)
    r = c.get("/flows", [("Authorization", f"Bearer {tok}"), ("Node-RED-API-Version", "v2")])
    assert r.status == 200, r
    assert "flows" in r.json()


def test_flow_echo_non_ascii_and_cookies(site: Site) -> None:
    c = site.client()
    _deploy(c)
    r = c.get("/echo/J%C3%BCrgen%20%E2%9C%93?a=1&a=2&b=%26%3D%2B&c=x+y")
    assert r.status == 200, r
    doc = r.json()
    assert doc["params"] == {"name": "Jürgen ✓"}, doc
    # Express gives an array for a repeated key, a string for one value (ALB single-value keeps only `a=2`).
    a = repeats(site.mode, ["1", "2"])
    assert doc["query"] == {"a": a if len(a) > 1 else a[0], "b": "&=+", "c": "x y"}, doc
    assert r.header("x-multi") == "ok"
    cookies = sorted(r.set_cookies)
    assert len(cookies) == 3, cookies
    assert cookies[0].startswith("a=1; Path=/"), cookies
    assert cookies[1].startswith("b=zwei; Path=/echo"), cookies
    assert cookies[2].startswith("c=3;") and "Max-Age=60" in cookies[2] and "Expires=" in cookies[2], cookies


def test_flow_multipart_two_binary_files(site: Site) -> None:
    c = site.client()
    _deploy(c)
    png, rnd = TEST_PNG.read_bytes(), RANDOM_BIN.read_bytes()[:300_000]
    r = c.post_multipart("/upload", [("title", "Grüße")],
                         [("img", "bild.png", "image/png", png),
                          ("blob", "random.bin", "application/octet-stream", rnd)])
    assert r.status == 200, r
    doc = r.json()
    assert doc["body"] == {"title": "Grüße"}, doc
    assert doc["files"] == [
        {"field": "img", "name": "bild.png", "size": len(png), "type": "image/png"},
        {"field": "blob", "name": "random.bin", "size": len(rnd), "type": "application/octet-stream"},
    ], doc


def test_unknown_route_404(site: Site) -> None:
    r = site.client().get("/echo")
    assert r.status == 404, r


def test_editor_and_assets(site: Site) -> None:
    c = site.client()
    page = c.get("/")
    assert page.status == 200 and "<title>Node-RED</title>" in page.text(), page
    ico = c.get("/favicon.ico")
    assert ico.status == 200 and ico.header("content-type") == "image/x-icon", ico
    font = c.get("/vendor/font-awesome/fonts/fontawesome-webfont.woff2?v=4.7.0")
    want = (PKG / "vendor/font-awesome/fonts/fontawesome-webfont.woff2").read_bytes()
    assert font.status == 200 and font.body == want, font
    red = c.get("/red/red.min.js")
    assert red.status == 200 and red.body == (PKG / "red/red.min.js").read_bytes(), red


def test_large_bundles(site: Site) -> None:
    """vendor.js is 1.15 MB and monaco's editor.js 4.3 MB, uncompressed (Node-RED has no compression)."""
    c = site.client()
    for rel in ("vendor/vendor.js", "vendor/monaco/dist/editor.js"):
        want = (PKG / rel).read_bytes()
        r = c.get("/" + rel)
        if over_alb_limit(site.mode, len(want), binary=False):
            assert r.status == 502, (rel, r)  # ALB's 1 MB limit: reweb answers 502 rather than a cut body
            continue
        assert r.status == 200, (rel, r)
        assert r.body == want, rel
