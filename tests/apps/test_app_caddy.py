"""Caddy 2.6 (Go) file server: browse listing, precompressed and on-the-fly gzip/zstd, ranges, 304, 308/302, HEAD."""

from __future__ import annotations

import gzip
import re

import pytest
from appkit import KIT, AppSpec, Site, fresh_dir, over_alb_limit

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
SITE_DIR = KIT / "caddy" / "site"


def _prepare() -> None:
    fresh_dir("/tmp/caddy")


SPEC = AppSpec(
    name="caddy",
    port=8006,
    wait_path="/",
    command=lambda base: ["caddy", "run", "--config", str(KIT / "caddy/Caddyfile"), "--adapter", "caddyfile"],
    env={"HOME": "/tmp/caddy", "XDG_DATA_HOME": "/tmp/caddy", "XDG_CONFIG_HOME": "/tmp/caddy", "CADDY_PORT": "8006",
         "CADDY_SITE_ROOT": str(SITE_DIR)},
    prepare=_prepare,
)


def test_index_utf8(site: Site) -> None:
    r = site.client().get("/")
    assert r.status == 200, r
    assert r.body == (SITE_DIR / "index.html").read_bytes()


def test_directory_redirect_and_listing(site: Site) -> None:
    c = site.client()
    r = c.get("/dateien")
    assert r.status == 308, r
    assert r.header("location") == "/dateien/"
    r = c.get(c.local_path(r.header("location") or ""))
    assert r.status == 200, r
    links = re.findall(r'href="\./([^"]+\.png)"', r.text())
    assert links == ["Bild%20%C3%A4%C3%B6%C3%BC%20%E2%9C%93.png"], links
    # A non-ASCII, percent-encoded path: the bytes of the file come back unchanged.
    img = c.get("/dateien/" + links[0])
    assert img.status == 200, img
    assert img.header("content-type") == "image/png"
    assert img.header("cache-control") == "public, max-age=60"
    assert img.body == (SITE_DIR / "dateien" / "Bild äöü ✓.png").read_bytes()


def test_redirect_with_repeated_query(site: Site) -> None:
    r = site.client().get("/old")
    assert r.status == 302, r
    assert r.header("location") == "/new-place?x=1&x=2"


def test_binary_file_bytes(site: Site) -> None:
    r = site.client().get("/random.bin")
    if over_alb_limit(site.mode, 1_000_000, binary=True):
        assert r.status == 502, r  # 1,000,000 B base64-encoded is more than ALB's 1 MB: reweb answers 502
        return
    assert r.status == 200, r
    assert r.body == (SITE_DIR / "random.bin").read_bytes()


def test_range_206(site: Site) -> None:
    c = site.client()
    r = c.get("/random.bin", [("Range", "bytes=100-199")])
    assert r.status == 206, r
    assert r.header("content-range") == "bytes 100-199/1000000"
    assert r.body == (SITE_DIR / "random.bin").read_bytes()[100:200]
    r = c.get("/random.bin", [("Range", "bytes=-16")])
    assert r.status == 206, r
    assert r.body == (SITE_DIR / "random.bin").read_bytes()[-16:]


def test_head(site: Site) -> None:
    r = site.client().head("/random.bin")
    assert r.status == 200, r
    assert r.header("content-length") == "1000000"
    assert r.body == b""


def test_etag_304(site: Site) -> None:
    c = site.client()
    r = c.get("/dateien/Bild%20%C3%A4%C3%B6%C3%BC%20%E2%9C%93.png")
    etag = r.header("etag")
    assert etag, r
    r2 = c.get("/dateien/Bild%20%C3%A4%C3%B6%C3%BC%20%E2%9C%93.png", [("If-None-Match", etag)])
    assert r2.status == 304, r2
    assert r2.body == b""
    lm = r.header("last-modified")
    assert lm
    r3 = c.get("/dateien/Bild%20%C3%A4%C3%B6%C3%BC%20%E2%9C%93.png", [("If-Modified-Since", lm)])
    assert r3.status == 304, r3


def test_large_js_identity_and_precompressed_gzip(site: Site) -> None:
    c = site.client()
    original = (SITE_DIR / "app.js").read_bytes()
    plain = c.get("/app.js")
    assert plain.status == 200, plain
    assert plain.header("content-encoding") is None
    assert plain.body == original
    gz = c.get("/app.js", [("Accept-Encoding", "gzip")])
    assert gz.status == 200, gz
    assert gz.header("content-encoding") == "gzip"
    # The precompressed file is sent as it is on disk, byte for byte, and decodes to the original.
    assert gz.body == (SITE_DIR / "app.js.gz").read_bytes()
    assert gzip.decompress(gz.body) == original
    assert gz.header("etag") != plain.header("etag")
    assert "accept-encoding" in (gz.header("vary") or "").lower()


def test_on_the_fly_zstd_and_gzip(site: Site) -> None:
    c = site.client()
    original = (SITE_DIR / "big.txt").read_bytes()
    z = c.get("/big.txt", [("Accept-Encoding", "zstd")])
    assert z.status == 200, z
    assert z.header("content-encoding") == "zstd"
    assert z.body[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    assert len(z.body) < len(original) / 3
    g = c.get("/big.txt", [("Accept-Encoding", "gzip")])
    assert g.header("content-encoding") == "gzip"
    assert gzip.decompress(g.body) == original


def test_not_found(site: Site) -> None:
    r = site.client().get("/n%C3%B6pe/%2F..%2Fetc%2Fpasswd")
    assert r.status == 404, r
