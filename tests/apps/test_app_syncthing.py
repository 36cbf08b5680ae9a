"""Syncthing 1.19 (Go, Debian) web GUI and REST API: HTTP Basic login with a bcrypt password that answers with two
cookies (a session and a CSRF token, both named after the device), the CSRF header that every REST call of a
cookie session needs, the API key header, a folder of real files with non-ASCII names browsed over REST, a
configuration change by PATCH with a non-ASCII label, scans and events, gzip of the built-in assets, HEAD."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse

import pytest
from appkit import KIT, PASSWORD, AppSpec, Client, Site, fresh_dir

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
API_KEY = "reweb-test-api-key-0123456789abcdef"
SEED = KIT / "syncthing" / "seed" / "Dokumente"
BASIC = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()


def _prepare() -> None:
    fresh_dir("/tmp/syncthing")


SPEC = AppSpec(
    name="syncthing",
    port=8023,
    # Everything but the login challenge needs credentials: ready is the GUI's 401 (REWEB_WAIT_CODE=401).
    wait_path="/",
    wait_codes="401",
    command=lambda base: [str(KIT / "syncthing" / "start.sh")],
    env={"SYNCTHING_HOME": "/tmp/syncthing"},
    prepare=_prepare,
)


def _login(c: Client) -> str:
    """Basic auth once; the answer's session cookie carries the rest. Returns the CSRF header's name."""
    r = c.get("/", [("Authorization", BASIC)])
    assert r.status == 200, r
    short = (r.header("x-syncthing-id") or "")[:5]
    assert len(short) == 5, r
    names = sorted(line.split("=", 1)[0] for line in r.set_cookies)
    assert names == [f"CSRF-Token-{short}", f"sessionid-{short}"], r.set_cookies
    return f"X-CSRF-Token-{short}"


def _csrf(c: Client, header: str) -> tuple[str, str]:
    value = c.cookie(header.removeprefix("X-"))
    assert value
    return (header, value)


def test_basic_challenge(site: Site) -> None:
    c = site.client()
    r = c.get("/")
    assert r.status == 401, r
    assert r.header("www-authenticate") == 'Basic realm="Authorization Required"'
    bad = base64.b64encode(b"admin:wrong").decode()
    r = c.get("/", [("Authorization", f"Basic {bad}")])
    assert r.status == 401 and not r.set_cookies, r


def test_login_cookies_then_session(site: Site) -> None:
    c = site.client()
    _login(c)
    # No Authorization any more: the session cookie alone is enough.
    r = c.get("/")
    assert r.status == 200 and "Syncthing" in r.text(), r
    assert Client(site.base).get("/").status == 401


def test_rest_needs_csrf_header_with_a_cookie_session(site: Site) -> None:
    c = site.client()
    header = _login(c)
    r = c.get("/rest/system/status")
    assert r.status == 403 and "CSRF" in r.text(), r
    r = c.get("/rest/system/status", [_csrf(c, header)])
    assert r.status == 200, r
    doc = r.json()
    assert isinstance(doc, dict) and doc["myID"][:5] == header[-5:], doc


def test_api_key(site: Site) -> None:
    c = Client(site.base)
    r = c.get("/rest/system/version", [("X-API-Key", API_KEY)])
    assert r.status == 200, r
    doc = r.json()
    assert isinstance(doc, dict) and doc["version"].startswith("v1.19."), doc
    assert c.get("/rest/system/version", [("X-API-Key", "wrong")]).status == 401  # then Basic auth is asked
    assert not c.cookies  # an API client gets no session


def test_browse_folder_with_non_ascii_names(site: Site) -> None:
    c = Client(site.base)
    key = [("X-API-Key", API_KEY)]
    r = c.get("/rest/db/browse?folder=dokumente&levels=2", key)
    assert r.status == 200, r
    tree = r.json()
    assert isinstance(tree, list)
    assert sorted(e["name"] for e in tree) == sorted(p.name for p in SEED.iterdir())
    sub = next(e for e in tree if e["name"] == "Bücher")
    assert [e["name"] for e in sub["children"]] == ["katalog.json"]
    r = c.get("/rest/db/browse?folder=dokumente&prefix=" + urllib.parse.quote("Bücher"), key)
    assert r.status == 200, r
    listed = r.json()
    assert isinstance(listed, list) and [e["name"] for e in listed] == ["katalog.json"], r
    name = "Grüße ✓.txt"
    r = c.get("/rest/db/file?folder=dokumente&file=" + urllib.parse.quote(name), key)
    assert r.status == 200, r
    info = r.json()
    assert isinstance(info, dict) and info["global"]["name"] == name
    assert info["global"]["size"] == (SEED / name).stat().st_size


def test_patch_config_with_non_ascii_label(site: Site) -> None:
    c = site.client()
    header = _login(c)
    label = "Dokumente ✓ Ärger 東京"
    body = json.dumps({"label": label}, ensure_ascii=False).encode()
    refused = c.request("PATCH", "/rest/config/folders/dokumente", body, [("Content-Type", "application/json")])
    assert refused.status == 403, refused
    r = c.request("PATCH", "/rest/config/folders/dokumente", body,
                  [("Content-Type", "application/json"), _csrf(c, header)])
    assert r.status == 200, r
    r = c.get("/rest/config/folders/dokumente", [_csrf(c, header)])
    folder = r.json()
    assert isinstance(folder, dict) and folder["label"] == label, folder


def test_scan_and_events(site: Site) -> None:
    c = Client(site.base)
    key = [("X-API-Key", API_KEY)]
    r = c.request("POST", "/rest/db/scan?folder=dokumente&sub=" + urllib.parse.quote("Bücher"), b"", key)
    assert r.status == 200, r
    r = c.request("POST", "/rest/db/scan?folder=nope", b"", key)
    assert r.status == 500 and r.text() == "no such folder\n", r
    r = c.get("/rest/events?since=0&limit=50&timeout=1", key)
    assert r.status == 200, r
    events = r.json()
    assert isinstance(events, list)
    assert "Starting" in {e["type"] for e in events}, [e["type"] for e in events]


def test_assets_gzip_head(site: Site) -> None:
    c = site.client()
    _login(c)
    plain = c.get("/syncthing/app.js")
    assert plain.status == 200 and plain.header("content-encoding") is None, plain
    gz = c.get("/syncthing/app.js", [("Accept-Encoding", "gzip")])
    assert gz.status == 200 and gz.header("content-encoding") == "gzip", gz
    assert gzip.decompress(gz.body) == plain.body and len(gz.body) < len(plain.body)
    png = c.get("/assets/img/favicon-default.png")
    assert png.status == 200 and png.header("content-type") == "image/png", png
    assert png.body.startswith(b"\x89PNG\r\n\x1a\n")
    h = c.head("/")
    assert h.status == 200 and h.body == b"", h
    # Syncthing 1.19 sends ETag and Last-Modified but answers conditional requests with the full asset again
    # (directly too): no 304 to expect here.
    assert plain.header("etag") and plain.header("last-modified"), plain
