"""The registry's Ed25519 signing key: loaded from a setting, or generated for dev.

`SIGNING_KEY_FILE` names a PEM (PKCS #8) Ed25519 private key, `SIGNING_KEY` holds
one inline; production needs one of them (`CatalogSettings.production_problems`).
The all-in-one `make run` makes one beside its database on first start
(`skreg_gateway.localsecrets`). A dev catalog without either signs with a key made
for this process only: its public key is still recorded (`SigningKey`), so what it
signed stays verifiable after a restart with another key.

Signing and the DSSE encoding are securesystemslib's (`CryptoSigner`, `dsse.Envelope`):
the same library verifiers use, so both ends compute the pre-authentication encoding
and the key id the same way, and nothing here is a private copy of either.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey
from skreg_proto.attestation import PAYLOAD_TYPE, Statement

log = structlog.get_logger(__name__)


class SigningKeyError(ValueError):
    """The configured signing key cannot be used."""


class RegistrySigner:
    """Signs statements with one Ed25519 key; knows its public key and key id."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._signer = CryptoSigner(private_key)
        self.public_key: SSlibKey = self._signer.public_key
        # Set once this process has recorded the public key (`register_key`).
        self.registered = False

    @property
    def keyid(self) -> str:
        """securesystemslib's key id: sha256 of the public key's canonical JSON."""
        return self.public_key.keyid

    @property
    def public_hex(self) -> str:
        """The raw public key, hex (securesystemslib's `keyval.public`)."""
        return str(self.public_key.keyval["public"])

    def sign(self, statement: Statement) -> bytes:
        """The statement in a DSSE envelope signed by this key, as JSON bytes."""
        envelope = Envelope(msgspec.json.encode(statement), PAYLOAD_TYPE, {})
        envelope.sign(self._signer)
        return msgspec.json.encode(envelope.to_dict())

    @classmethod
    def ephemeral(cls) -> RegistrySigner:
        """A key for this process only (dev without a configured key)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, where: str) -> RegistrySigner:
        """The signer for a PEM Ed25519 private key; SigningKeyError names `where`."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"{where} is not an unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{where} is not an Ed25519 key")
        return cls(key)


def load_signer(key_file: str | None, key_pem: str | None) -> RegistrySigner:
    """The configured signer (`SIGNING_KEY_FILE` wins over `SIGNING_KEY`), else an
    ephemeral one (settings refuse that in production)."""
    if key_file:
        try:
            pem = Path(key_file).read_bytes()
        except OSError as exc:
            raise SigningKeyError(f"cannot read SIGNING_KEY_FILE {key_file}: {exc}") from exc
        return RegistrySigner.from_pem(pem, f"SIGNING_KEY_FILE {key_file}")
    if key_pem:
        return RegistrySigner.from_pem(key_pem.encode(), "SIGNING_KEY")
    signer = RegistrySigner.ephemeral()
    log.warning("signing.ephemeral_key", keyid=signer.keyid)
    return signer


def new_key_pem() -> bytes:
    """A fresh Ed25519 private key as PEM (PKCS #8, unencrypted: it is a mounted secret)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_key_file(path: Path) -> RegistrySigner:
    """Write a fresh key to `path` (mode 0600, never over an existing file); its signer."""
    pem = new_key_pem()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return RegistrySigner.from_pem(pem, str(path))
