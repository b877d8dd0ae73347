"""STARTTLS for the SMTP door: the operator's certificate, or a self-signed one for the embedded
default; and, when configured, client certificates of the MSSanté trust space's authority."""

from __future__ import annotations

import ssl
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from carnet import clock
from carnet.blobs.local import make_folders_durably, write_file_durably
from carnet.settings import Settings


def self_signed(folder: Path, hostname: str) -> tuple[Path, Path]:
    """``(certificate, key)`` in ``folder``, made once (ECDSA P-256, ten years)."""
    cert_path, key_path = folder / "tls-cert.pem", folder / "tls-key.pem"
    if cert_path.is_file() and key_path.is_file():
        return cert_path, key_path
    make_folders_durably(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = clock.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_file_durably(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_file_durably(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def server_context(settings: Settings, hostname: str) -> ssl.SSLContext:
    cert, key = settings.smtp_tls_cert_file, settings.smtp_tls_key_file
    if cert is None or key is None:
        cert, key = self_signed(settings.data_dir / "smtp", hostname)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    if settings.smtp_client_ca_file is not None:
        # Optional at the TLS layer so that the refusal comes at MAIL FROM with a clear text.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(settings.smtp_client_ca_file)
    return context
