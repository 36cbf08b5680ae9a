"""`reweb local --https`: a certificate for 127.0.0.1, ::1 and localhost, signed by a CA of this machine's own.

Both are made at first use with the `openssl` command (no Python dependency) and kept under the user's cache
directory ($XDG_CACHE_HOME/reweb/local-tls, else ~/.cache/reweb/local-tls), so the CA the user trusted once stays
the same; the leaf is remade when it is about to expire. The CA may vouch for loopback names only (X.509 name
constraints), so trusting it in a browser opens nothing else, even if its key leaked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CA_DAYS = 3650
LEAF_DAYS = 397  # under the 398 days browsers accept for a server certificate
RENEW_SECONDS = 7 * 24 * 3600

_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;IP:127.0.0.0/255.0.0.0, permitted;IP:{ipv6}, permitted;DNS:localhost
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
""".format(ipv6="::1/" + ":".join(["ffff"] * 8))


class TlsError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Material:
    ca: Path  # what clients trust
    cert: Path
    key: Path
    made: bool  # the CA was made by this call (first use)


def cache_dir(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reweb" / "local-tls"


def ensure(directory: Path) -> Material:
    """The CA and leaf in `directory`, made or renewed as needed (one process at a time: a lock file)."""
    if shutil.which("openssl") is None:
        raise TlsError("--https needs the openssl command (Debian/Ubuntu: apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    ca, ca_key = directory / "ca.pem", directory / "ca-key.pem"
    cert, key = directory / "localhost.pem", directory / "localhost-key.pem"
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = False
        if not (ca.is_file() and ca_key.is_file() and _valid_for(ca, RENEW_SECONDS)):
            _make_ca(directory, ca, ca_key)
            made = True
        if made or not (cert.is_file() and key.is_file() and _valid_for(cert, RENEW_SECONDS)):
            _make_leaf(directory, ca, ca_key, cert, key)
    return Material(ca, cert, key, made)


def server_context(material: Material) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(material.cert), str(material.key))
    return context


def trust_lines(ca: Path, port: int) -> list[str]:
    return [
        f"https: the certificate for 127.0.0.1, ::1 and localhost is signed by a CA made for this machine: {ca}",
        f"  curl --cacert {ca} https://127.0.0.1:{port}/",
        "  in a browser, import that file once as a trusted authority (it vouches for loopback names only): Firefox: "
        "Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import; Chrome/Edge: "
        "Settings > Privacy and security > Security > Manage certificates; macOS: sudo security add-trusted-cert -d "
        f"-r trustRoot -k /Library/Keychains/System.keychain {ca}; Debian/Ubuntu: sudo cp {ca} "
        "/usr/local/share/ca-certificates/reweb-local.crt && sudo update-ca-certificates",
    ]


def _valid_for(pem: Path, seconds: int) -> bool:
    done = subprocess.run(["openssl", "x509", "-in", str(pem), "-noout", "-checkend", str(seconds)],
                          capture_output=True, timeout=30, check=False)
    return done.returncode == 0


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}")


def _make_ca(directory: Path, ca: Path, ca_key: Path) -> None:
    # A name of its own per machine: a browser that trusts two of them tells them apart.
    subject = f"/CN=reweb local CA {secrets.token_hex(4)}/O=reweb local (this machine only)"
    with _workdir(directory) as work:
        _openssl("req", "-x509", "-new", "-config", str(work / "openssl.cnf"), "-extensions", "ca",
                 "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", str(CA_DAYS),
                 "-subj", subject, "-keyout", str(work / "ca-key.pem"), "-out", str(work / "ca.pem"))
        _install(work / "ca-key.pem", ca_key)
        _install(work / "ca.pem", ca)


def _make_leaf(directory: Path, ca: Path, ca_key: Path, cert: Path, key: Path) -> None:
    with _workdir(directory) as work:
        config = str(work / "openssl.cnf")
        _openssl("req", "-new", "-config", config, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-subj", "/CN=localhost", "-keyout", str(work / "key.pem"), "-out", str(work / "csr.pem"))
        _openssl("x509", "-req", "-in", str(work / "csr.pem"), "-CA", str(ca), "-CAkey", str(ca_key),
                 "-set_serial", f"0x{secrets.token_hex(16)}", "-days", str(LEAF_DAYS), "-extfile", config,
                 "-extensions", "leaf", "-out", str(work / "cert.pem"))
        _install(work / "key.pem", key)
        _install(work / "cert.pem", cert)


@contextlib.contextmanager
def _workdir(directory: Path) -> Iterator[Path]:
    old = os.umask(0o077)  # keys are written 0600 from the start
    try:
        with tempfile.TemporaryDirectory(dir=directory, prefix=".make-") as work:
            path = Path(work)
            (path / "openssl.cnf").write_text(_CONFIG)
            yield path
    finally:
        os.umask(old)


def _install(made: Path, final: Path) -> None:
    os.chmod(made, 0o600 if "key" in final.name else 0o644)
    os.replace(made, final)  # atomic: a reader never sees half a file
