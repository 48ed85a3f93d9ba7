"""The auth service's public shapes (API.md, auth section) and its revocation broadcast.

Field names in API.md are binding; fields are only ever added (with defaults).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

TOKEN_TYPE = "bearer"  # noqa: S105 - the OAuth token type, not a secret


class RegisterRequest(msgspec.Struct):
    """`POST /api/v1/auth/register`."""

    username: str
    email: str
    password: str


class LoginRequest(msgspec.Struct):
    """`POST /api/v1/auth/login`; `username` may hold an email address."""

    username: str
    password: str


class RefreshRequest(msgspec.Struct):
    """`POST /api/v1/auth/refresh`."""

    refresh_token: str


class LogoutRequest(msgspec.Struct):
    """`POST /api/v1/auth/logout`: the refresh token, or none to end the bearer's session."""

    refresh_token: str | None = None


class PasswordChangeRequest(msgspec.Struct):
    """`POST /api/v1/auth/account/password`."""

    current_password: str
    new_password: str


class UserOut(msgspec.Struct):
    """A user as the API shows it."""

    id: str
    username: str
    email: str
    role: str
    disabled: bool = False
    created_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None
    # Only on `GET /account` and an admin's `GET /users/{id}`: failed sign-ins in the
    # current window, and (once there were too many) until when each address other than
    # the owner's gets only a few tries. Admins lift it with `DELETE /users/{id}/sign-in-lock`.
    failed_sign_ins: int = 0
    sign_in_limited_until: dt.datetime | None = None


class TokenResponse(msgspec.Struct):
    """Login and refresh answer: a short-lived access JWT and a single-use refresh token."""

    access_token: str
    expires_in: int
    refresh_token: str
    user: UserOut
    token_type: str = TOKEN_TYPE
    refresh_expires_in: int = 0


class MeResponse(msgspec.Struct):
    """`GET /api/v1/auth/me`: who the credential belongs to and what it may do."""

    kind: str
    id: str | None
    username: str | None
    roles: list[str]
    scopes: list[str]
    key_id: str | None = None


class UserUpdateRequest(msgspec.Struct):
    """`PATCH /api/v1/auth/users/{id}`: change the role and/or disable / re-enable."""

    role: str | None = None
    disabled: bool | None = None


class KeyCreateRequest(msgspec.Struct):
    """`POST /api/v1/auth/keys`."""

    name: str
    scopes: list[str] = msgspec.field(default_factory=lambda: ["read"])
    expires_in_days: int | None = None
    # Limit the key to these namespaces (`acme/*`); None: every namespace its user may use.
    namespaces: list[str] | None = None


class ApiKeyOut(msgspec.Struct):
    """An API key without its secret."""

    id: str
    name: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    prefix: str = ""
    # The key this one was created with (None: created by a signed-in session).
    parent_id: str | None = None
    namespaces: list[str] | None = None


class ApiKeyCreated(msgspec.Struct):
    """A new API key: `key` is the secret, shown this once and never again."""

    id: str
    name: str
    scopes: list[str]
    key: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    prefix: str = ""
    parent_id: str | None = None
    namespaces: list[str] | None = None


class AuditEventOut(msgspec.Struct):
    """One audit log entry."""

    id: int
    at: dt.datetime
    action: str
    outcome: str
    actor_id: str | None = None
    actor_name: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    client_ip: str | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class Jwk(msgspec.Struct):
    """An Ed25519 public key as a JWK (RFC 8037)."""

    kty: str
    crv: str
    x: str
    kid: str
    use: str = "sig"
    alg: str = "EdDSA"


class Jwks(msgspec.Struct):
    """`GET /api/v1/auth/jwks`."""

    keys: list[Jwk]


RevocationKind = Literal["user", "session", "key"]


class RevocationEvent(msgspec.Struct):
    """Broadcast by auth (Redis pub/sub) so every verifier drops a credential at once.

    `user`: access tokens of `id` with a token version below `min_version` are void, and
    cached API-key answers for the user are dropped (disable, role change). `session`:
    access tokens whose `sid` is `id` are void (logout, refresh reuse). `key`: cached
    answers for API key `id` are dropped (revocation). `until` (epoch seconds) is when
    the entry stops mattering because every token it could void has expired.
    """

    kind: RevocationKind
    id: str
    until: float
    min_version: int = 0


# --- organizations ------------------------------------------------------------

OrgRole = Literal["owner", "admin", "publisher", "reader"]


class OrgCreateRequest(msgspec.Struct):
    """`POST /api/v1/auth/orgs`: the caller becomes its first owner."""

    name: str
    display_name: str = ""


class OrgOut(msgspec.Struct):
    """An organization; `role` is the caller's role in it (None: not a member)."""

    name: str
    display_name: str
    created_at: dt.datetime
    role: OrgRole | None = None
    members: int = 0


class MemberOut(msgspec.Struct):
    """One member of an organization."""

    user_id: str
    username: str
    role: OrgRole
    added_at: dt.datetime


class MemberSetRequest(msgspec.Struct):
    """`PUT /api/v1/auth/orgs/{org}/members/{username}`: add a member or change the role."""

    role: OrgRole


class MembershipsSetRequest(msgspec.Struct):
    """`PUT /internal/auth/users/{user_id}/memberships`: a user's memberships, replaced whole.

    For single sign-on's group mapping: organizations not named lose the user
    (within `managed`, if given: only those organizations are touched).
    """

    memberships: dict[str, OrgRole]
    managed: list[str] | None = None
