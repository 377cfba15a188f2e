"""The local signing identity for C2PA manifests, mounted at ``/_local/provenance``. Never deployed.

On first start a development certificate chain is made with ``cryptography`` (ES256: a CA
certificate and an end-entity certificate with the digitalSignature key usage and the
emailProtection extended key usage, as C2PA requires of a signer) and kept in
``local/.dev-c2pa.json`` (not committed). It is UNTRUSTED: no C2PA trust list contains it, so
readers report ``signingCredential.untrusted`` while the signature and hashes still validate.

``GET /_local/provenance`` answers the chain's CA certificate (PEM), for a reader's trust anchors.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

PREFIX = "/_local/provenance"
DEFAULT_PATH = Path(__file__).resolve().parent / ".dev-c2pa.json"
ORGANISATION = "Atelier local development (UNTRUSTED)"


def make_dev_credentials(now: datetime | None = None) -> dict[str, str]:
    """A fresh CA and signer: {"private_key", "certificate_chain", "ca_certificate"} as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = now or datetime.now(UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            ]
        )

    def usage(*, sign: bool, certify: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=certify,
            crl_sign=certify,
            encipher_only=False,
            decipher_only=False,
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Atelier development CA"))
        .issuer_name(name("Atelier development CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False, certify=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(name("Atelier development signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True, certify=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem).decode()
    return {
        "private_key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode(),
        "certificate_chain": signer.public_bytes(pem).decode() + ca_pem,
        "ca_certificate": ca_pem,
    }


def dev_credentials(path: Path = DEFAULT_PATH) -> dict[str, str]:
    """The development chain, made and kept on first use (written whole, so a concurrent start
    reads either nothing or a complete file)."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        pass
    credentials = make_dev_credentials()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(credentials, handle)
    os.chmod(handle.name, 0o600)
    try:
        os.link(handle.name, path)  # the first writer wins; later ones read what it wrote
    except FileExistsError:
        return dict(json.loads(path.read_text()))
    finally:
        os.unlink(handle.name)
    return credentials


def provenance_stand_in(path: Path = DEFAULT_PATH) -> StandIn:
    routes = LocalRoutes()

    @routes.get("/")
    def ca_certificate(request: LocalRequest) -> LocalResponse:
        return LocalResponse.text(dev_credentials(path)["ca_certificate"])

    def environment(base_url: str) -> dict[str, str]:
        credentials = dev_credentials(path)
        return {
            "C2PA_SIGNING_KEY": credentials["private_key"],
            "C2PA_CERTIFICATE_CHAIN": credentials["certificate_chain"],
            "C2PA_TRUST_ANCHORS": credentials["ca_certificate"],
        }

    return StandIn(PREFIX, routes, "the development (untrusted) C2PA signing chain's CA", environment=environment)
