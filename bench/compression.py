"""Compression of a text response: gzip -6 (what reweb used alone) against Brotli at the qualities a server
uses for dynamic content, on real text (the WordPress, DokuWiki and jQuery sources the apps suite installs, or
any files given). Prints a table: time per MB (best of N), output size, ratio. `python3 bench/compression.py`"""

from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path

import brotli

DEFAULT = ["/usr/share/wordpress/wp-includes/js/jquery/jquery.js",
           "/usr/share/wordpress/wp-includes/css/dist/block-library/style.css",
           "/usr/share/dokuwiki/lib/scripts/behaviour.js", "/usr/share/doc/python3.11/html/library/index.html"]


def best_ms(fn: object, runs: int = 7) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        size = len(fn())  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best * 1000, size


def main() -> None:
    paths = [Path(p) for p in (sys.argv[1:] or DEFAULT) if Path(p).is_file()]
    data = b"".join(p.read_bytes() for p in paths)
    if not data:
        raise SystemExit("no input files (install the apps with tests/apps/install.sh, or name files)")
    mb = len(data) / 1e6
    print(f"{len(data)} bytes of text from {len(paths)} files\n")
    print("| coding | ms per MB | bytes | ratio |\n|---|---:|---:|---:|")
    coders = [("gzip -6", lambda: gzip.compress(data, 6, mtime=0))]
    coders += [(f"br q{q}", lambda q=q: brotli.compress(data, quality=q)) for q in (4, 5, 6, 11)]
    for name, fn in coders:
        ms, size = best_ms(fn, 3 if name == "br q11" else 7)
        print(f"| {name} | {ms / mb:.1f} | {size} | {size / len(data):.3f} |")


if __name__ == "__main__":
    main()
