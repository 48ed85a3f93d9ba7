"""The browser session: Litestar's encrypted cookie session, holding the user's tokens.

Nothing is stored server-side, so any number of gateway replicas serve the same
session. Litestar's `CookieBackendConfig` seals it (AES-256-GCM: confidentiality and
integrity in one) under a key derived from `SECRET_KEY` with HKDF, so the cookie key
is independent of every other use of that secret. The cookie is `HttpOnly` (tokens
never reach scripts), `SameSite=Lax`, `Path=/`, and `Secure` whenever the browser used
HTTPS. Changing `SECRET_KEY` signs every browser out (nothing else is lost: the
session holds only tokens that signing in issues again).

`UiSessionBackend` is Litestar's `ClientSideSessionBackend` with three changes, each
for a reason the library's options cannot express:

- Reading never fails a request. Litestar 2.25 parses the cookie's trailing expiry
  JSON before it authenticates anything, so a forged cookie whose tail is not that
  JSON raised out of the middleware as a 500 (tests/ui/test_units.py keeps such
  cookies). Any cookie that does not open, or is larger than a session of ours can
  be, is an absent session; the size is checked before any decoding.
- A session is written only when it changed. Litestar re-sends the cookie on every
  response; then a slow poll answered after "Sign out" in another tab would put the
  signed-in session back. (The UI marks a change with `mark_changed`.)
- `Secure` follows the request: the same registry answers plain HTTP on loopback in
  dev and HTTPS behind a trusted proxy (skreg_common.forwarded sets the scheme), and
  Litestar's `secure` is one value for the app.
"""

from __future__ import annotations

import binascii
import dataclasses
import secrets
import time
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from litestar.connection import ASGIConnection
from litestar.exceptions import LitestarException
from litestar.middleware.session.client_side import (
    ClientSideSessionBackend,
    CookieBackendConfig,
)
from litestar.types import Message, ScopeSession

SESSION_COOKIE = "skreg_session"
# Our sessions seal to about 1-2 KB; Litestar would split a larger one over several
# cookies. Anything past this is not ours and is not decoded at all.
MAX_SESSION_CHARS = 8000
_KEY_INFO = b"skreg-ui-session-v1"
_CHANGED = "ui_session_changed"


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
    # A single sign-on under way in this browser: its state, and where to go after.
    sso_state: str | None = None
    sso_next: str | None = None

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
    """A 32-byte key for one use of SECRET_KEY (HKDF-SHA256), independent of the others."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO)
    return hkdf.derive(secret_key.encode("utf-8"))


def session_config(secret_key: str, max_age_s: int) -> CookieBackendConfig:
    """The cookie's attributes; `Secure` is added per request (see the module docstring)."""
    return CookieBackendConfig(
        secret=derive_session_key(secret_key),
        key=SESSION_COOKIE,
        max_age=max_age_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=False,
    )


def mark_changed(connection: ASGIConnection[Any, Any, Any, Any], session: UiSession) -> None:
    """Have the middleware write `session` into this response's cookie."""
    connection.scope["session"] = msgspec.to_builtins(session)
    connection.scope.setdefault("state", {})[_CHANGED] = True


class UiSessionBackend(ClientSideSessionBackend):
    """Litestar's cookie session backend, hardened and change-only (module docstring)."""

    def __init__(self, config: CookieBackendConfig) -> None:
        super().__init__(config)
        self.max_age_s = config.max_age
        self._over_https = ClientSideSessionBackend(dataclasses.replace(config, secure=True))

    def __deepcopy__(self, memo: dict[int, Any]) -> UiSessionBackend:
        # Litestar deep-copies a router's middleware per route; this holds a cipher (which
        # cannot be copied) and no per-request data: one shared object.
        return self

    def read(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        """The sealed session's contents, or {} when absent, forged, tampered or oversized."""
        chunks = [connection.cookies[key] for key in self.get_cookie_keys(connection)]
        if not chunks or sum(len(chunk) for chunk in chunks) > MAX_SESSION_CHARS:
            return {}
        try:
            data = self.load_data([chunk.encode("ascii") for chunk in chunks])
        except (InvalidTag, binascii.Error, ValueError, TypeError, KeyError, LitestarException):
            return {}
        return data if isinstance(data, dict) else {}

    def session_of(self, data: ScopeSession | None, now: float | None = None) -> UiSession | None:
        """`data` as a UiSession, or None when it is not one or is past the maximum age.

        The age counts from the session's creation (UI_SESSION_DAYS at most); Litestar's
        own expiry restarts with every write.
        """
        if not data or not isinstance(data, dict):
            return None
        try:
            session = msgspec.convert(data, UiSession)
        except msgspec.ValidationError:
            return None
        age = (time.time() if now is None else now) - session.created_at
        return session if 0 <= age <= self.max_age_s else None

    async def load_from_connection(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> dict[str, Any]:
        return self.read(connection)

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if not connection.scope.get("state", {}).get(_CHANGED):
            return
        if connection.url.scheme == "https":
            await self._over_https.store_in_message(scope_session, message, connection)
        else:
            await super().store_in_message(scope_session, message, connection)
