"""Write the CycloneDX 1.5 SBOM of one one-file executable (called by scripts/build, after the link).

What is inside a static file is invisible to image scanners, so this lists it: the sources scripts/build
downloads (pinned in packaging/pins.sh, hashes checked by the build) and every Debian package whose files the
linker really opened (`ld --trace`), with its version, its .deb's SHA-256 when apt knows it, and the SHA-256 of
each file that went into the link. Deterministic: no timestamp, the serial number is derived from the content,
so two builds of the same inputs write the same bytes (the build is reproducible).

usage: sbom.py --arch ARCH --pins pins.sh --trace link.trace --reweb-version V --stdlib DIR
               --source NAME=PATH ... [--sysroot DIR --debs DIR] --out FILE.cdx.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

DEBIAN = "debian-12"


def read_pins(path: str) -> dict[str, str]:
    pins = {}
    for line in Path(path).read_text().splitlines():
        m = re.fullmatch(r"([A-Z0-9_]+)=(\S+)\s*(#.*)?", line.strip())
        if m:
            pins[m.group(1)] = m.group(2)
    return pins


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def traced_files(trace: str) -> list[str]:
    """The archives and objects the linker opened, normalised (ld prints gcc's ../../.. paths)."""
    seen: dict[str, None] = {}
    for line in Path(trace).read_text().splitlines():
        line = line.strip()
        m = re.fullmatch(r"\(?(/[^()]+?\.(?:a|o))\)?(?:\(.*\))?", line)
        if m:
            seen[os.path.normpath(m.group(1))] = None
    return list(seen)


def dpkg_query(*args: str) -> str:
    return subprocess.run(["dpkg-query", *args], capture_output=True, text=True, check=True).stdout


def host_owner(path: str) -> str | None:
    for candidate in (path, os.path.realpath(path)):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return done.stdout.splitlines()[0].split(":")[0].split(",")[0].strip()
    return None


def deb_sha256(package: str, version: str) -> str | None:
    """The .deb's SHA-256 as Debian's archive lists it (apt's lists), when they still hold that version."""
    done = subprocess.run(["apt-cache", "show", "--no-all-versions", f"{package}={version}"],
                          capture_output=True, text=True, check=False)
    m = re.search(r"^SHA256: ([0-9a-f]{64})$", done.stdout, re.M)
    return m.group(1) if done.returncode == 0 and m else None


class Debs:
    """Debian binary packages: installed on this machine, or unpacked from .debs into a sysroot (arm64)."""

    def __init__(self, sysroot: str | None, debs: str | None) -> None:
        self.sysroot = os.path.normpath(sysroot) if sysroot else None
        self.by_file: dict[str, dict[str, str]] = {}  # a sysroot file -> its .deb's fields
        for deb in sorted(Path(debs).glob("*.deb")) if debs else []:
            fields = dict(
                line.split(": ", 1) for line in subprocess.run(
                    ["dpkg-deb", "-f", str(deb), "Package", "Version", "Source", "Architecture"],
                    capture_output=True, text=True, check=True).stdout.splitlines())
            fields["sha256"] = sha256(deb)
            listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True).stdout
            import io
            import tarfile
            with tarfile.open(fileobj=io.BytesIO(listing)) as tar:
                for member in tar.getmembers():
                    self.by_file[os.path.normpath("/" + member.name.lstrip("./"))] = fields

    def owner(self, path: str) -> dict[str, str] | None:
        if self.sysroot and path.startswith(self.sysroot + os.sep):
            inner = path[len(self.sysroot):]
            fields = self.by_file.get(inner) or self.by_file.get(os.path.normpath(inner))
            return dict(fields) if fields else None
        package = host_owner(path)
        if package is None:
            return None
        arch = dpkg_query("-W", "-f", "${Architecture}", package).strip()
        name = f"{package}:{arch}" if arch not in ("all", "") else package
        version, source = dpkg_query("-W", "-f", "${Version}\t${source:Package}", name).split("\t")
        return {"Package": package, "Version": version, "Source": source, "Architecture": arch,
                "sha256": deb_sha256(name, version) or ""}


def hashes(digest: str) -> list[dict[str, str]]:
    return [{"alg": "SHA-256", "content": digest}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--pins", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--reweb-version", required=True)
    ap.add_argument("--stdlib", required=True, help="the stdlib directory whose bytecode is in the zip")
    ap.add_argument("--source", action="append", default=[], help="NAME=PATH of a pinned source file used")
    ap.add_argument("--sysroot")
    ap.add_argument("--debs")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    pins = read_pins(args.pins)
    sources = dict(item.split("=", 1) for item in args.source)
    components: list[dict[str, Any]] = []

    # -- the pinned downloads: their hashes are the pins, and the files used must still match them
    cpython = pins["CPYTHON_VERSION"]
    for name, pin in (("Modules/_json.c", "JSON_C_SHA256"), ("Modules/_ssl.c", "SSL_C_SHA256")):
        digest = sha256(sources[name])
        if digest != pins[pin]:
            raise SystemExit(f"sbom: {sources[name]} is not the pinned {name} ({pin})")
        components.append({
            "type": "file", "bom-ref": f"cpython-{cpython}-{name}", "name": name, "version": cpython,
            "description": f"CPython {cpython} source file compiled into the executable (Debian's libpython "
                           "lacks it)",
            "hashes": hashes(digest), "licenses": [{"license": {"id": "PSF-2.0"}}],
            "purl": f"pkg:github/python/cpython@v{cpython}#{name}",
        })
    components.append({
        "type": "library", "bom-ref": f"brotli-{pins['BROTLI_VERSION']}", "name": "brotli",
        "version": pins["BROTLI_VERSION"],
        "description": "Google's Brotli: the C library and its Python binding, compiled in from the PyPI sdist "
                       "(the hash is the sdist's)",
        "hashes": hashes(pins["BROTLI_SHA256"]), "licenses": [{"license": {"id": "MIT"}}],
        "purl": f"pkg:pypi/brotli@{pins['BROTLI_VERSION']}",
    })
    components.append({
        "type": "library", "bom-ref": f"pybase64-{pins['PYBASE64_VERSION']}", "name": "pybase64",
        "version": pins["PYBASE64_VERSION"],
        "description": "pybase64 and the libbase64 it bundles (SIMD base64), compiled in from the PyPI sdist "
                       "(the hash is the sdist's)",
        "hashes": hashes(pins["PYBASE64_SHA256"]), "licenses": [{"license": {"id": "BSD-2-Clause"}}],
        "purl": f"pkg:pypi/pybase64@{pins['PYBASE64_VERSION']}",
    })

    # -- Debian packages: every file the linker opened, grouped by the package that installed it
    debs = Debs(args.sysroot, args.debs)
    packages: dict[tuple[str, str], dict[str, Any]] = {}
    files = traced_files(args.trace)
    # The zip's standard library bytecode is compiled from Debian's python3.11 files: two packages hold them.
    stdlib_markers = [os.path.join(args.stdlib, "os.py"), os.path.join(args.stdlib, "json", "__init__.py")]
    unowned = []
    for path in [*files, *stdlib_markers]:
        fields = debs.owner(path)
        if fields is None:
            unowned.append(path)
            continue
        key = (fields["Package"], fields["Version"])
        if key not in packages:
            source = fields.get("Source") or fields["Package"]
            source = source.split(" ")[0]  # "openssl (3.0.1-1)" form in a .deb
            arch = fields["Architecture"]
            package: dict[str, Any] = {
                "type": "library", "bom-ref": f"deb-{fields['Package']}-{fields['Version']}-{arch}",
                "name": fields["Package"], "version": fields["Version"],
                "purl": f"pkg:deb/debian/{fields['Package']}@{fields['Version']}?arch={arch}&distro={DEBIAN}"
                        + (f"&upstream={source}" if source != fields["Package"] else ""),
                "properties": [{"name": "reweb:debian-source-package", "value": source}],
                "components": [],
            }
            if fields.get("sha256"):
                package["hashes"] = hashes(fields["sha256"])  # the .deb, as Debian's archive lists it
            packages[key] = package
        if path not in stdlib_markers:
            shown = path[len(os.path.normpath(args.sysroot)):] if args.sysroot and path.startswith(
                os.path.normpath(args.sysroot) + os.sep) else path
            packages[key]["components"].append({
                "type": "file", "bom-ref": f"file-{arch_of(args.arch)}-{shown}", "name": shown,
                "hashes": hashes(sha256(path)),
                "description": "linked into the executable (opened by ld)",
            })
        elif len(packages[key]["properties"]) == 1:
            packages[key]["properties"].append(
                {"name": "reweb:use", "value": "the standard library modules in the executable's bytecode zip"})
    ours = [p for p in unowned if not p.startswith(("/tmp/",)) and "/build/static/" not in p]
    if ours:
        raise SystemExit("sbom: linked files owned by no Debian package and not pinned: " + ", ".join(ours))
    for package in sorted(packages.values(), key=lambda p: p["name"]):
        if not package["components"]:
            del package["components"]
        components.append(package)

    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
        "metadata": {
            "component": {
                "type": "application", "bom-ref": "reweb", "name": "reweb", "version": args.reweb_version,
                "description": f"reweb's one-file executable for linux/{arch_of(args.arch)}: CPython "
                               f"{cpython} (Debian's static libpython) with reweb's bytecode appended",
                "purl": f"pkg:pypi/reweb-lambda@{args.reweb_version}",
                "licenses": [{"license": {"id": "Apache-2.0"}}],
            },
            "properties": [{"name": "reweb:platform", "value": f"linux/{arch_of(args.arch)}"}],
        },
        "components": components,
        "dependencies": [{"ref": "reweb", "dependsOn": [c["bom-ref"] for c in components]}],
    }
    body = json.dumps(bom, indent=2, sort_keys=False)
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5",
           "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'reweb-sbom:' + body)}", **bom}
    Path(args.out).write_text(json.dumps(bom, indent=2) + "\n")


def arch_of(arch: str) -> str:
    return {"x86_64": "amd64", "arm64": "arm64"}[arch]


if __name__ == "__main__":
    main()
