"""Secrets at rest (source credentials, webhook secrets): AES-GCM under a key derived from
`SECRET_KEY` with HKDF, so the database alone never reveals them.

Each value gets a fresh 96-bit nonce; the purpose string is bound as associated data,
so a ciphertext moved from one column to another does not decrypt.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"v1"
_NONCE_BYTES = 12
_HKDF_INFO = b"skreg-importer secrets at rest v1"


class SecretDecryptError(ValueError):
    """A stored secret could not be decrypted (other SECRET_KEY, or tampered)."""


class SecretBox:
    """Encrypts small secrets for storage; `seal`/`open` are inverse for one SECRET_KEY."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"skreg-importer", info=_HKDF_INFO
        ).derive(secret_key.encode("utf-8"))
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, purpose: str) -> str:
        """Ciphertext as printable text: `v1.<base64(nonce || ciphertext+tag)>`."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, purpose.encode("utf-8"))
        return f"{_VERSION.decode()}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def open(self, token: str, purpose: str) -> bytes:
        """The plaintext of a `seal`ed value; raises `SecretDecryptError` on any mismatch."""
        version, _, body = token.partition(".")
        if version != _VERSION.decode():
            raise SecretDecryptError("unknown secret format")
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
            return self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode("utf-8")
            )
        except (InvalidTag, ValueError) as exc:
            raise SecretDecryptError("stored secret does not decrypt with this SECRET_KEY") from exc
