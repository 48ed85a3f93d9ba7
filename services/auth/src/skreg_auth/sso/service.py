"""SSO sign-in: the redirect flow (web UI, CLI loopback) and the device flow (CLI).

Each sign-in under way is a row in `auth_sso_requests`, keyed by the SHA-256 of its
state (or device handle) and deleted by the statement that completes it: a state,
and so the nonce and PKCE verifier bound to it, works once. A replayed callback
finds nothing and is refused.

Accounts are linked by (issuer, subject), never by email alone: an email that a
local account already uses is refused with a clear message rather than handing that
account to whoever controls the provider's claim. The groups claim is mapped to
memberships at every sign-in (`mapping.py`) and applied through `MembershipSink`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from skreg_common.db import unit_of_work, utcnow
from skreg_common.errors import BadRequest, Conflict, Forbidden, Unauthorized
from skreg_proto.auth import SsoBeginResponse, SsoDevicePending, SsoDeviceStart, TokenResponse
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_auth.audit.service import AuditService
from skreg_auth.sessions.service import SessionService
from skreg_auth.settings import AuthSettings
from skreg_auth.sso.mapping import Grant, desired_memberships, groups_of
from skreg_auth.sso.memberships import MembershipSink
from skreg_auth.sso.models import SsoIdentity, SsoRequest
from skreg_auth.sso.oidc import OidcProvider, ProviderUnavailable, TokenRejected
from skreg_auth.users.models import User, email_key
from skreg_auth.users.service import EMAIL_RE, MAX_EMAIL_LENGTH, new_user

REQUEST_TTL = dt.timedelta(minutes=10)
UNUSABLE_PASSWORD = "!sso"  # noqa: S105 - never an argon2 hash: no password matches it
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_HANDLE_RE = re.compile(r"[A-Za-z0-9_-]{20,128}")
_NOT_USERNAME = re.compile(r"[^a-z0-9_-]+")

log = structlog.get_logger(__name__)


def handle_hash(value: str) -> str:
    """What a state or device handle is stored as."""
    return hashlib.sha256(value.encode()).hexdigest()


class SsoDisabled(Forbidden):
    """No identity provider is configured."""


@dataclass
class SsoService:
    """Everything an SSO sign-in needs, wired once per process."""

    settings: AuthSettings
    sessions: async_sessionmaker[AsyncSession]
    provider: OidcProvider
    logins: SessionService
    memberships: MembershipSink
    mapping: dict[str, tuple[Grant, ...]]

    @property
    def client_id(self) -> str:
        """Our client id at the provider."""
        if not self.settings.sso_enabled or self.settings.sso_client_id is None:
            raise SsoDisabled("single sign-on is not configured on this registry")
        return self.settings.sso_client_id

    @property
    def managed_organizations(self) -> frozenset[str]:
        """The organizations the mapping grants roles in (SSO manages only those)."""
        return frozenset(g.organization for grants in self.mapping.values() for g in grants)

    # --- redirect flow --------------------------------------------------------------

    async def begin(self, redirect_uri: str) -> SsoBeginResponse:
        """A new sign-in: state, nonce and PKCE verifier stored; the provider's URL back."""
        if len(redirect_uri) > 2048 or not redirect_uri.startswith(("http://", "https://")):
            raise BadRequest("redirect_uri must be an http(s) URL of at most 2048 characters")
        metadata = await self.provider.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        url = prepare_grant_uri(
            metadata.authorization_endpoint,
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=self.settings.sso_scopes,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),  # type: ignore[no-untyped-call]
            code_challenge_method="S256",
        )
        async with unit_of_work(self.sessions) as session:
            await _forget_expired(session)
            session.add(
                SsoRequest(
                    handle=handle_hash(state),
                    kind="redirect",
                    nonce=nonce,
                    code_verifier=verifier,
                    redirect_uri=redirect_uri,
                    expires_at=utcnow() + REQUEST_TTL,
                )
            )
        return SsoBeginResponse(authorization_url=url, state=state)

    async def complete(self, state: str, code: str, client_ip: str | None) -> TokenResponse:
        """Redeem the code for the state's sign-in (once), check the ID token, sign in."""
        self.client_id  # noqa: B018 - refuses when SSO is off
        if not _HANDLE_RE.fullmatch(state) or not 0 < len(code) <= 2048:
            raise BadRequest("state or code is malformed")
        request = await self._claim_request(handle_hash(state), "redirect")
        if request is None:
            await self._audit_failure(None, client_ip, "unknown_or_used_state")
            raise Unauthorized(
                "this sign-in link was already used or has expired; start signing in again"
            )
        metadata = await self.provider.metadata()
        token = await self._provider_post(
            metadata.token_endpoint,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.redirect_uri or "",
                "code_verifier": request.code_verifier or "",
            },
            accept_errors=True,
        )
        if "error" in token:
            error = str(token["error"])[:100]
            await self._audit_failure(None, client_ip, f"token_endpoint:{error}")
            raise Unauthorized(f"the identity provider refused the sign-in ({error})")
        return await self._sign_in(token, client_ip, nonce=request.nonce)

    # --- device flow ----------------------------------------------------------------

    async def device_start(self) -> SsoDeviceStart:
        """Ask the provider for a device code; the CLI shows the user code and polls."""
        metadata = await self.provider.metadata()
        if metadata.device_authorization_endpoint is None:
            raise BadRequest(
                "the identity provider does not offer the device flow; "
                "sign in through the browser (skreg login --sso --browser)"
            )
        body = await self._provider_post(
            metadata.device_authorization_endpoint, {"scope": self.settings.sso_scopes}
        )
        try:
            device_code = str(body["device_code"])
            answer = SsoDeviceStart(
                handle=secrets.token_urlsafe(32),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=body.get("verification_uri_complete"),
                expires_in=int(body.get("expires_in", 600)),
                interval=int(body.get("interval", 5)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderUnavailable("the provider's device authorization is malformed") from exc
        async with unit_of_work(self.sessions) as session:
            await _forget_expired(session)
            session.add(
                SsoRequest(
                    handle=handle_hash(answer.handle),
                    kind="device",
                    device_code=device_code,
                    expires_at=utcnow() + dt.timedelta(seconds=min(answer.expires_in, 1800)),
                )
            )
        return answer

    async def device_poll(
        self, handle: str, client_ip: str | None
    ) -> TokenResponse | SsoDevicePending:
        """Pending until the user approves at the provider; then tokens, once."""
        self.client_id  # noqa: B018
        if not _HANDLE_RE.fullmatch(handle):
            raise BadRequest("handle is malformed")
        key = handle_hash(handle)
        async with self.sessions() as session:
            request = await session.get(SsoRequest, key)
        if request is None or request.kind != "device" or request.expires_at <= utcnow():
            raise Unauthorized("this device sign-in is unknown, finished or expired")
        metadata = await self.provider.metadata()
        body = await self._provider_post(
            metadata.token_endpoint,
            {"grant_type": DEVICE_GRANT, "device_code": request.device_code or ""},
            accept_errors=True,
        )
        error = body.get("error")
        if error in ("authorization_pending", "slow_down"):
            return SsoDevicePending(status=str(error), interval=10 if error == "slow_down" else 5)
        if await self._claim_request(key, "device") is None:
            raise Unauthorized("this device sign-in is unknown, finished or expired")
        if error is not None:
            await self._audit_failure(None, client_ip, f"device:{error}")
            raise Unauthorized(f"the identity provider refused the sign-in ({error})")
        return await self._sign_in(body, client_ip, nonce=None)

    async def _provider_post(
        self, url: str, data: dict[str, str], *, accept_errors: bool = False
    ) -> dict[str, Any]:
        auth = (self.client_id, self.settings.sso_client_secret or "")
        try:
            async with self.provider.http() as client:
                response = await client.post(url, data=data, auth=auth)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable("the identity provider cannot be reached") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"the identity provider answered {response.status_code}")
        if response.status_code >= 400 and not (accept_errors and "error" in body):
            raise Unauthorized(f"the identity provider refused: {body.get('error', 'error')}")
        return body

    # --- shared ---------------------------------------------------------------------

    async def _claim_request(self, key: str, kind: str) -> SsoRequest | None:
        """Take the request row: exactly one caller gets it, the row is gone after."""
        async with unit_of_work(self.sessions) as session:
            request = await session.get(SsoRequest, key)
            if request is None:
                return None
            deleted = await session.execute(delete(SsoRequest).where(SsoRequest.handle == key))
            if deleted.rowcount != 1 or request.kind != kind or request.expires_at <= utcnow():  # type: ignore[attr-defined]
                return None
            session.expunge(request)
            return request

    async def _sign_in(
        self, token: dict[str, Any], client_ip: str | None, *, nonce: str | None
    ) -> TokenResponse:
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise Unauthorized("the identity provider sent no ID token (is 'openid' a scope?)")
        try:
            claims = await self.provider.verify(
                id_token, audience=self.client_id, nonce=nonce, require_nonce=nonce is not None
            )
        except TokenRejected as exc:
            await self._audit_failure(None, client_ip, f"id_token:{exc.detail}")
            raise
        user_id = await self.link(claims, client_ip)
        return await self.logins.start_session_for(user_id, client_ip, "login.sso")

    async def link(self, claims: dict[str, Any], client_ip: str | None) -> str:
        """The user (created on first sign-in) for verified `claims`; memberships applied."""
        issuer, subject = str(claims["iss"]), str(claims["sub"])
        groups = groups_of(claims, self.settings.sso_groups_claim)
        desired = desired_memberships(groups, self.mapping)
        async with unit_of_work(self.sessions) as session:
            audit = AuditService(session)
            identity = await session.scalar(
                select(SsoIdentity).where(
                    SsoIdentity.issuer == issuer, SsoIdentity.subject == subject
                )
            )
            if identity is None:
                user = await self._new_user(session, claims)
                identity = SsoIdentity(
                    issuer=issuer, subject=subject, user_id=user.id, groups=groups
                )
                session.add(identity)
                audit.record(
                    "sso.user_created",
                    actor_id=user.id,
                    actor_name=user.username,
                    target_type="user",
                    target_id=user.id,
                    client_ip=client_ip,
                    details={"issuer": issuer, "subject": subject},
                )
            else:
                found = await session.get(User, identity.user_id)
                if found is None or found.disabled:
                    raise Unauthorized("this account is disabled")
                user = found
                identity.groups, identity.last_login_at = groups, utcnow()
            change = await self.memberships.apply(
                session, user.id, desired, self.managed_organizations
            )
            if change.any:
                audit.record(
                    "sso.memberships_changed",
                    actor_id=user.id,
                    actor_name=user.username,
                    target_type="user",
                    target_id=user.id,
                    client_ip=client_ip,
                    details={
                        "groups": groups,
                        "added": change.added,
                        "changed": change.changed,
                        "removed": change.removed,
                    },
                )
            user_id = user.id
        log.info("sso.linked", user_id=user_id, groups=len(groups), memberships=len(desired))
        return user_id

    async def _new_user(self, session: AsyncSession, claims: dict[str, Any]) -> User:
        email = claims.get("email")
        if (
            not isinstance(email, str)
            or claims.get("email_verified") is False
            or len(email) > MAX_EMAIL_LENGTH
            or not EMAIL_RE.fullmatch(email)
        ):
            # No usable email: a unique placeholder that no mailbox has.
            email = f"{uuid.uuid4().hex}@sso.invalid"
        taken = await session.scalar(select(User.id).where(User.email_key == email_key(email)))
        if taken is not None:
            raise Conflict(
                f"an account with the email {email} already exists; an administrator "
                "must link it to your single sign-on identity"
            )
        user = new_user(
            await self._free_username(session, claims), email, UNUSABLE_PASSWORD, "user"
        )
        session.add(user)
        await session.flush()
        return user

    async def _free_username(self, session: AsyncSession, claims: dict[str, Any]) -> str:
        """preferred_username (or the email's mailbox), cleaned; a number added if taken."""
        wanted = claims.get("preferred_username") or str(claims.get("email", "")).split("@")[0]
        base = _NOT_USERNAME.sub("-", str(wanted).lower()).strip("-_")[:32] or "user"
        if len(base) < 2:
            base = f"{base}-user"
        rows = await session.scalars(
            select(User.username).where(func.substr(User.username, 1, len(base)) == base)
        )
        used = set(rows)
        if base not in used:
            return base
        number = 2
        while f"{base}-{number}" in used:
            number += 1
        return f"{base}-{number}"

    async def _audit_failure(self, user_id: str | None, client_ip: str | None, reason: str) -> None:
        async with unit_of_work(self.sessions) as session:
            AuditService(session).record(
                "login.sso_failed",
                outcome="failure",
                actor_id=user_id,
                target_type="user",
                target_id=user_id,
                client_ip=client_ip,
                details={"reason": reason[:200]},
            )
        log.info("login.sso_failed", reason=reason)


async def _forget_expired(session: AsyncSession) -> None:
    await session.execute(delete(SsoRequest).where(SsoRequest.expires_at <= utcnow()))
