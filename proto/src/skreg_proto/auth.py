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


# --- single sign-on (OpenID Connect) -------------------------------------------------


class SsoInfo(msgspec.Struct):
    """`GET /api/v1/auth/sso`: whether SSO is on, and how clients may use it."""

    enabled: bool
    display_name: str
    password_login: bool
    device_flow: bool


class SsoBeginRequest(msgspec.Struct):
    """Start a redirect sign-in: the URL the provider sends the browser back to."""

    redirect_uri: str


class SsoBeginResponse(msgspec.Struct):
    """Where to send the browser, and the state that must come back with the code."""

    authorization_url: str
    state: str


class SsoCompleteRequest(msgspec.Struct):
    """The `code` and `state` the provider sent back to the redirect URI."""

    state: str
    code: str


class SsoDeviceStart(msgspec.Struct):
    """A device sign-in: show `user_code` and `verification_uri`, then poll with `handle`."""

    handle: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int
    verification_uri_complete: str | None = None


class SsoDeviceTokenRequest(msgspec.Struct):
    """Poll a device sign-in."""

    handle: str


class SsoDevicePending(msgspec.Struct):
    """202 from the device poll: not approved yet; poll again after `interval` seconds."""

    status: str
    interval: int


# --- trusted publishing ----------------------------------------------------------------


class TrustPolicyCreate(msgspec.Struct):
    """CI tokens from `issuer` for `audience` whose claims equal `claims` may publish to
    `namespace` (e.g. GitLab `project_path` and `ref_protected`, GitHub `repository`
    and `workflow_ref`)."""

    namespace: str
    issuer: str
    audience: str
    claims: dict[str, str | bool]


class TrustPolicyOut(msgspec.Struct):
    """A registered trust policy."""

    id: str
    namespace: str
    issuer: str
    audience: str
    claims: dict[str, Any]
    created_at: dt.datetime
    created_by: str | None = None


class CiTokenExchange(msgspec.Struct):
    """`POST /api/v1/auth/trusted-publishing/exchange`: the CI job's OIDC ID token."""

    token: str


class CiToken(msgspec.Struct):
    """A short-lived access token that may publish only to `namespace`."""

    access_token: str
    expires_in: int
    namespace: str
    policy_id: str
    token_type: str = TOKEN_TYPE


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
