"""reweb talks to AWS over TLS (as it must at AWS: S3, SSM and Secrets Manager are HTTPS), the one-file
executable included: moto's server behind a TLS front on loopback with a certificate of a CA made here,
trusted through SSL_CERT_FILE. An untrusted certificate is refused, with the reason in the error."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.moto_server import bucket, client, moto_server
from tests.support.offload import APP, KEYS, REGION, expected, http_event
from tests.support.rie import RieFunction, free_port

pytestmark = pytest.mark.integration


def make_ca_and_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signs for 127.0.0.1; PEM files: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reweb test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class TlsFront:
    """TLS on a loopback port, each connection forwarded as plain TCP to `target` (moto's server)."""

    def __init__(self, cert: Path, key: Path, target: int) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes_failed = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(raw,), daemon=True).start()

    def handle(self, raw: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            raw.close()
            return
        plain = socket.create_connection(("127.0.0.1", self.target))

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(plain, tls), daemon=True).start()
        pump(tls, plain)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def tls_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, TlsFront]]:
    folder = tmp_path_factory.mktemp("tls")
    ca, cert, key = make_ca_and_cert(folder)
    with moto_server() as plain:
        bucket(plain, "reweb-tls", REGION)
        client("ssm", plain, REGION).put_parameter(Name="/tls/secret", Value="over TLS ✓", Type="SecureString")
        front = TlsFront(cert, key, int(plain.rsplit(":", 1)[1]))
        yield f"https://127.0.0.1:{front.port}", ca, front
        front.close()


def function(folder: Path, env: dict[str, str]) -> RieFunction:
    (folder / "app.py").write_text(APP)
    port = free_port()
    return RieFunction({**KEYS, "REWEB_APPLICATION_PORT": str(port),
                        "REWEB_APPLICATION_EXEC": f"{sys.executable} {folder / 'app.py'} {port}", **env}, timeout_s=60)


def test_offload_and_secrets_over_tls(tmp_path: Path, tls_moto: tuple[str, Path, TlsFront]) -> None:
    url, ca, _front = tls_moto
    fn = function(tmp_path, {"AWS_ENDPOINT_URL": url, "SSL_CERT_FILE": str(ca), "REWEB_OFFLOAD_BUCKET": "reweb-tls",
                             "REWEB_SECRET_APP_SECRET": "ssm:/tls/secret"})
    try:
        result = fn.invoke(http_event("/bytes", "mb=7"))
        assert result["statusCode"] == 307, result
        location = result["headers"]["location"]
        assert location.startswith(url + "/reweb-tls/")
        context = ssl.create_default_context(cafile=str(ca))
        with urllib.request.urlopen(location, timeout=60, context=context) as answer:
            assert answer.read() == expected(7)
        assert "secrets read into the app's environment" in fn.logs_with("secrets read")
    finally:
        fn.close()


def test_an_untrusted_certificate_is_refused(tmp_path: Path, tls_moto: tuple[str, Path, TlsFront]) -> None:
    url, _ca, front = tls_moto
    failed_before = front.handshakes_failed
    # The CA is not trusted: SSL_CERT_FILE names a bundle without it (this machine's own).
    system = next(p for p in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
                  if Path(p).is_file())
    fn = function(tmp_path, {"AWS_ENDPOINT_URL": url, "SSL_CERT_FILE": system, "REWEB_OFFLOAD_BUCKET": "reweb-tls"})
    try:
        result = fn.invoke(http_event("/bytes", "mb=7"))
        assert result["statusCode"] == 502, result
        assert result["body"] == "reweb: the response could not be stored\n", result["body"]
        assert "CERTIFICATE_VERIFY_FAILED" in fn.logs_with("CERTIFICATE_VERIFY_FAILED")
        # The front sees the handshake fail in its own thread, maybe just after reweb has answered.
        deadline = time.monotonic() + 5
        while front.handshakes_failed == failed_before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert front.handshakes_failed > failed_before
        assert json.dumps(result).find(KEYS["AWS_SECRET_ACCESS_KEY"]) == -1
    finally:
        fn.close()
