"""Generate the suite's seed files into the kit folder, deterministically (no large binaries in git).

Usage: mkseed.py KIT. Files already present with the right content are left alone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import struct
import sys
import zlib
from pathlib import Path


def png(w: int = 64, h: int = 64) -> bytes:
    """A real RGB PNG (64x64, about 9 KB): a gradient that does not compress to nothing."""

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 4 % 256, y * 4 % 256, (x ^ y) * 4 % 256)) for x in range(w)) for y in range(h)
    )
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def random_bytes(n: int, seed: bytes = b"reweb") -> bytes:
    out = bytearray()
    block = seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def js_bundle(target: int = 780_000) -> bytes:
    """A large, valid JavaScript file (like a minified vendor bundle) that compresses about 4:1."""
    parts = ["/*! generated test bundle */\n", "var bundle = {};\n"]
    size = sum(len(p) for p in parts)
    i = 0
    while size < target:
        h = hashlib.md5(str(i).encode()).hexdigest()
        line = f'bundle["m{i}"]=function(a,b){{return a*{i % 97}+b.length+"{h}";}};\n'
        parts.append(line)
        size += len(line)
        i += 1
    return "".join(parts).encode()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def datasette_db(path: Path, image: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    c = sqlite3.connect(tmp)
    c.executescript(
        'create table "städte" (id integer primary key, name text, land text, einwohner integer);'
        "create table files (id integer primary key, name text, data blob);"
    )
    c.executemany(
        'insert into "städte"(name, land, einwohner) values (?, ?, ?)',
        [
            ("München", "DE", 1512491),
            ("Zürich", "CH", 421878),
            ("Köln", "DE", 1083498),
            ("Genève", "CH", 203856),
            ("Wien", "AT", 1982097),
            ("São Paulo", "BR", 12325232),
            ("東京", "JP", 13960000),
        ],
    )
    c.execute("insert into files(name, data) values (?, ?)", ("test.png", image))
    c.commit()
    c.close()
    tmp.rename(path)


def main(kit: Path) -> None:
    image = png()
    write(kit / "testdata/test.png", image)
    write(kit / "testdata/random.bin", random_bytes(1_000_000))

    site = kit / "caddy/site"
    write(site / "dateien/Bild äöü ✓.png", image)
    write(site / "random.bin", random_bytes(1_000_000))
    bundle = js_bundle()
    write(site / "app.js", bundle)
    write(site / "app.js.gz", gzip.compress(bundle, 9, mtime=0))
    text = b"".join(b"line %06d: the quick brown fox jumps over the lazy dog\n" % i for i in range(4000))
    write(site / "big.txt", text)

    datasette_db(kit / "datasette/demo.db", image)

    posts = {
        "posts": [
            {"id": 1, "title": "Hallo Welt", "author": "jürgen"},
            {"id": 2, "title": "a+b=c & d", "author": "anna"},
            {"id": 3, "title": "Grüße ✓", "author": "jürgen"},
        ],
        "comments": [{"id": 1, "postId": 1, "body": "erster!"}],
        "profile": {"name": "typicode"},
    }
    write(kit / "json-server/db.seed.json", json.dumps(posts, ensure_ascii=False, indent=2).encode())
    write(kit / "json-server/public/test.png", image)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
