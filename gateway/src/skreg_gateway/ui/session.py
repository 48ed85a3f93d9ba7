"""The browser session: an encrypted, signed cookie that holds the user's tokens.

Nothing is stored server-side, so any number of gateway replicas serve the same
session. The cookie is AES-256-GCM (confidentiality and integrity in one) under a key
derived from `SECRET_KEY` with HKDF; it is `HttpOnly`, so tokens never reach scripts.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import time

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SESSION_COOKIE = "skreg_session"
# Browsers drop cookies past 4096 bytes; refuse to read anything near that instead of parsing it.
MAX_COOKIE_CHARS = 4000
_NONCE_BYTES = 12
_AAD = b"skreg-ui-session-v1"


class SessionUser(msgspec.Struct, frozen=True):
    """Who is signed in, as auth described them at login."""

    id: str
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        """Admins see the admin pages (the API still decides what they may do)."""
        return self.role == "admin"


class Flash(msgspec.Struct, frozen=True):
    """A one-time message shown on the next page (after a redirect)."""

    level: str
    message: str


class UiSession(msgspec.Struct, kw_only=True):
    """What the cookie carries: the CSRF token always, the tokens once signed in."""

    csrf: str
    created_at: float
    user: SessionUser | None = None
    access_token: str | None = None
    access_expires_at: float = 0.0
    refresh_token: str | None = None
    flash: list[Flash] = msgspec.field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        """True when this browser holds a user's tokens."""
        return self.user is not None and self.refresh_token is not None

    def sign_out(self) -> None:
        """Forget the user and their tokens; a fresh CSRF token ends the old forms too."""
        self.user = None
        self.access_token = None
        self.refresh_token = None
        self.access_expires_at = 0.0
        self.csrf = new_csrf_token()


def new_csrf_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_session() -> UiSession:
    """An anonymous session with its own CSRF token."""
    return UiSession(csrf=new_csrf_token(), created_at=time.time())


def derive_session_key(secret_key: str) -> bytes:
    """The AES-256 key for session cookies, independent of every other use of SECRET_KEY."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_AAD)
    return hkdf.derive(secret_key.encode("utf-8"))


class SessionCodec:
    """Seals sessions into cookie values and opens them again (None when anything is off)."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        self._aead = AESGCM(derive_session_key(secret_key))
        self.max_age_s = max_age_s
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(UiSession)

    def seal(self, session: UiSession) -> str:
        """Encrypt and authenticate `session` into a cookie-safe string."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, self._encoder.encode(session), _AAD)
        return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")

    def open(self, value: str | None, now: float | None = None) -> UiSession | None:
        """The session in `value`, or None if it is missing, forged, tampered with or too old."""
        if not value or len(value) > MAX_COOKIE_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) <= _NONCE_BYTES:
            return None
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _AAD)
            session = self._decoder.decode(plain)
        except (InvalidTag, msgspec.DecodeError, msgspec.ValidationError):
            return None
        age = (time.time() if now is None else now) - session.created_at
        if age < 0 or age > self.max_age_s:
            return None
        return session
