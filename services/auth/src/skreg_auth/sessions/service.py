"""Login, refresh-token rotation, logout, password change.

These flows open their own short transactions instead of using the request's: a
failed login must leave its audit entry behind although the request ends in a 401,
and refresh-token reuse must revoke the family although the caller gets a 401 too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import structlog
from skreg_common.db import unit_of_work, utcnow
from skreg_common.errors import BadRequest, Forbidden, Invalid, RateLimited, Unauthorized
from skreg_common.forwarded import address_bucket
from skreg_common.principal import Principal
from skreg_common.throttle import Slot, Throttle, throttle_key
from skreg_proto.auth import TokenResponse
from skreg_proto.problems import FieldProblem
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_auth.audit.service import AuditService
from skreg_auth.inputs import is_clean, printable
from skreg_auth.orgs.service import memberships_of
from skreg_auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Passwords
from skreg_auth.revoker import Revoker
from skreg_auth.sessions.models import RefreshToken
from skreg_auth.sessions.refresh import (
    REFRESH_RE,
    add_refresh_token,
    claim,
    revoke_family,
    revoke_user_sessions,
    token_hash,
)
from skreg_auth.tokens.signing import TokenIssuer
from skreg_auth.users.convert import to_user
from skreg_auth.users.models import User
from skreg_auth.users.service import login_key

INVALID_LOGIN = "invalid username or password"
MAX_IDENTIFIER_LENGTH = 254

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LoginLimits:
    """Failed sign-ins allowed per window: per address, per account, per address once locked."""

    max_failures: int
    locked_address_failures: int


@dataclass(frozen=True)
class SessionService:
    """Everything a login session needs, wired once per process."""

    sessions: async_sessionmaker[AsyncSession]
    passwords: Passwords
    issuer: TokenIssuer
    throttle: Throttle
    revoker: Revoker
    refresh_ttl: dt.timedelta
    limits: LoginLimits
    # Set when SSO has replaced passwords: only this account (the seed admin, the way
    # back in while the provider is down) still signs in with one.
    password_login_only_for: str | None = None

    async def login(self, identifier: str, password: str, client_ip: str | None) -> TokenResponse:
        """Password login by username or email; failures look and take the same.

        Each attempt is counted before its password is checked, so a burst of
        concurrent guesses gets no more checks than the limit; a success gives its
        count back. An attempt the hashing pool turns away was never made.
        """
        ident = identifier.strip()
        if (
            self.password_login_only_for is not None
            and login_key(ident) != self.password_login_only_for
        ):
            raise Forbidden("password sign-in is turned off here; sign in with single sign-on")
        address = address_bucket(client_ip or "unknown")
        ip_key = throttle_key("ip", address)
        await self._reserve(ip_key, self.limits.max_failures, None, ident, client_ip)
        held = [ip_key]
        try:
            user = await self._find(ident)
            account = user.id if user else "unknown:" + login_key(ident)
            key, last = await self._reserve_account(account, address, user, ident, client_ip)
            held.append(key)
            matches, rehash = await self.passwords.verify(
                user.password_hash if user else None, password
            )
        except Exception:
            for reserved in held:
                await self.throttle.release(reserved)
            raise
        if user is None or not matches or user.disabled:
            reason = "unknown_user" if user is None else "disabled" if matches else "wrong_password"
            await self._record_failure(user, ident, client_ip, reason)
            if last and user is not None:
                await self._record_lock(user, client_ip)
            raise Unauthorized(INVALID_LOGIN)
        new_hash = await self._rehash(password) if rehash else None
        response = await self._start_session(user.id, client_ip, new_hash, "login.succeeded")
        await self.throttle.release(ip_key)
        await self._forget_account_failures(account, address)
        return response

    async def _reserve(
        self, key: str, limit: int, user: User | None, ident: str, client_ip: str | None
    ) -> Slot:
        slot = await self.throttle.reserve(key, limit)
        if not slot.granted:
            await self._record_failure(user, ident, client_ip, "throttled")
            raise RateLimited(slot.retry_after, "too many failed sign-ins; try again later")
        return slot

    async def _reserve_account(
        self, account: str, address: str, user: User | None, ident: str, client_ip: str | None
    ) -> tuple[str, bool]:
        """Count the attempt against the account: shared at first, then per address.

        Once the account has had `max_failures` from anywhere, each address gets its
        own small budget for it: attackers elsewhere cannot lock its owner out.
        Returns the key counted and whether this attempt took the account's last place
        (if it fails, the account is limited from now on).
        """
        key = throttle_key("account", account)
        slot = await self.throttle.reserve(key, self.limits.max_failures)
        if slot.granted:
            return key, slot.count == self.limits.max_failures
        per_address = throttle_key("account-address", account, address)
        await self._reserve(
            per_address, self.limits.locked_address_failures, user, ident, client_ip
        )
        return per_address, False

    async def _forget_account_failures(self, account: str, address: str) -> None:
        await self.throttle.reset(throttle_key("account", account))
        await self.throttle.reset(throttle_key("account-address", account, address))

    async def _rehash(self, password: str) -> str | None:
        # The password was right; a busy pool only postpones the upgrade to the next login.
        try:
            return await self.passwords.hash(password)
        except RateLimited:
            return None

    async def _record_lock(self, user: User, client_ip: str | None) -> None:
        async with unit_of_work(self.sessions) as session:
            AuditService(session).record(
                "login.account_limited",
                outcome="failure",
                actor_id=user.id,
                actor_name=user.username,
                target_type="user",
                target_id=user.id,
                client_ip=client_ip,
                details={
                    "failures": self.limits.max_failures,
                    "per_address_budget": self.limits.locked_address_failures,
                },
            )
        log.warning("login.account_limited", user_id=user.id)

    async def sign_in_state(self, user_id: str) -> tuple[int, dt.datetime | None]:
        """(failed sign-ins in the current window, until when sign-ins are limited)."""
        slot = await self.throttle.peek(throttle_key("account", user_id), self.limits.max_failures)
        until = utcnow() + dt.timedelta(seconds=slot.retry_after) if slot.retry_after else None
        return slot.count, until

    async def clear_sign_in_lock(self, actor: Principal, user: User, client_ip: str | None) -> None:
        """An admin lifts the account's sign-in limit (its failure count starts again)."""
        await self.throttle.reset(throttle_key("account", user.id))
        async with unit_of_work(self.sessions) as session:
            AuditService(session).record(
                "user.sign_in_unlocked",
                actor=actor,
                target_type="user",
                target_id=user.id,
                client_ip=client_ip,
            )
        log.info("user.sign_in_unlocked", user_id=user.id, actor=actor.id)

    async def _find(self, ident: str) -> User | None:
        if not ident or not is_clean(ident, MAX_IDENTIFIER_LENGTH):
            return None
        column = User.email_key if "@" in ident else User.username
        async with self.sessions() as session:
            return await session.scalar(select(User).where(column == login_key(ident)))

    async def _record_failure(
        self, user: User | None, ident: str, client_ip: str | None, reason: str
    ) -> None:
        async with unit_of_work(self.sessions) as session:
            AuditService(session).record(
                "login.failed",
                outcome="failure",
                actor_id=user.id if user else None,
                actor_name=user.username if user else printable(ident, 64),
                target_type="user",
                target_id=user.id if user else None,
                client_ip=client_ip,
                details={"reason": reason},
            )
        log.info("login.failed", reason=reason, user_id=user.id if user else None)

    async def _start_session(
        self, user_id: str, client_ip: str | None, new_hash: str | None, action: str
    ) -> TokenResponse:
        family = str(uuid.uuid4())
        async with unit_of_work(self.sessions) as session:
            user = await session.get(User, user_id)
            if user is None or user.disabled:  # disabled between the check and now
                raise Unauthorized(INVALID_LOGIN)
            user.last_login_at = utcnow()
            if new_hash is not None:
                user.password_hash = new_hash
            refresh = add_refresh_token(session, user.id, family, client_ip, self.refresh_ttl)
            AuditService(session).record(
                action,
                actor_id=user.id,
                actor_name=user.username,
                target_type="user",
                target_id=user.id,
                client_ip=client_ip,
                details={"rehashed": True} if new_hash else {},
            )
        log.info(action, user_id=user.id, rehashed=new_hash is not None)
        return await self._tokens(user, family, refresh)

    async def start_session_for(
        self, user_id: str, client_ip: str | None, action: str
    ) -> TokenResponse:
        """A new session for a user another proof (single sign-on) has signed in."""
        return await self._start_session(user_id, client_ip, None, action)

    async def _tokens(self, user: User, family: str, refresh: str) -> TokenResponse:
        # Memberships ride in the token; changing one revokes it (`orgs.service`).
        async with self.sessions() as session:
            orgs = await memberships_of(session, user.id)
        access = self.issuer.access_token(
            orgs=orgs,
            user_id=user.id,
            username=user.username,
            role=user.role,
            token_version=user.token_version,
            session_id=family,
        )
        return TokenResponse(
            access_token=access,
            expires_in=self.issuer.access_ttl,
            refresh_token=refresh,
            refresh_expires_in=int(self.refresh_ttl.total_seconds()),
            user=to_user(user),
        )

    async def refresh(self, token: str, client_ip: str | None) -> TokenResponse:
        """Trade a refresh token for new tokens; a second use revokes its whole session."""
        if not REFRESH_RE.fullmatch(token):
            raise Unauthorized("refresh token is not valid")
        now = utcnow()
        outcome, family, user, successor = "unknown", None, None, None
        async with unit_of_work(self.sessions) as session:
            row = (
                await session.execute(
                    select(RefreshToken, User)
                    .join(User, User.id == RefreshToken.user_id)
                    .where(RefreshToken.token_hash == token_hash(token))
                )
            ).first()
            if row is not None:
                stored, user = row
                family = stored.family_id
                outcome = await claim(session, stored, user, now)
                if outcome == "ok":
                    successor = add_refresh_token(
                        session, user.id, family, client_ip, self.refresh_ttl
                    )
                elif outcome == "reused":
                    await revoke_family(session, family, now)
                    AuditService(session).record(
                        "session.reuse_detected",
                        outcome="failure",
                        actor_id=user.id,
                        actor_name=user.username,
                        target_type="session",
                        target_id=family,
                        client_ip=client_ip,
                    )
        if outcome == "reused" and family is not None:
            await self.revoker.deliver(self.revoker.session(family))
            log.warning("session.reuse_detected", session_id=family)
        if outcome != "ok" or user is None or family is None or successor is None:
            raise Unauthorized("refresh token is not valid")
        return await self._tokens(user, family, successor)

    async def logout(
        self, principal: Principal, refresh_token: str | None, client_ip: str | None
    ) -> None:
        """End a session: the one the refresh token belongs to, else the bearer token's."""
        family = principal.session_id
        if refresh_token is not None and REFRESH_RE.fullmatch(refresh_token):
            async with self.sessions() as session:
                found = await session.scalar(
                    select(RefreshToken.family_id).where(
                        RefreshToken.token_hash == token_hash(refresh_token)
                    )
                )
            family = found or family
        if family is None:
            if refresh_token is None:
                raise BadRequest("send the refresh token, or sign out with an access token")
            return  # an unknown refresh token: nothing to end, and nothing to reveal
        async with unit_of_work(self.sessions) as session:
            await revoke_family(session, family, utcnow())
            AuditService(session).record(
                "logout",
                actor=principal if principal.is_authenticated else None,
                target_type="session",
                target_id=family,
                client_ip=client_ip,
            )
        await self.revoker.deliver(self.revoker.session(family))

    async def change_password(
        self, principal: Principal, current: str, new: str, client_ip: str | None
    ) -> TokenResponse:
        """Change the caller's password; every other session ends, a new one starts."""
        if principal.key_id is not None or principal.id is None:
            raise Forbidden("sign in with your password to change it (not with an API key)")
        if not MIN_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH:
            raise Invalid(
                errors=[
                    FieldProblem(
                        "new_password",
                        f"between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters",
                    )
                ]
            )
        async with self.sessions() as session:
            user = await session.get(User, principal.id)
        if user is None:
            raise Unauthorized("sign in again")
        address = address_bucket(client_ip or "unknown")
        held, last = await self._reserve_account(user.id, address, user, user.username, client_ip)
        try:
            matches, _ = await self.passwords.verify(user.password_hash, current)
        except Exception:
            await self.throttle.release(held)
            raise
        if not matches:
            await self._record_failure(user, user.username, client_ip, "wrong_current_password")
            if last:
                await self._record_lock(user, client_ip)
            raise Invalid(errors=[FieldProblem("current_password", "is not your password")])
        await self.throttle.release(held)
        new_hash = await self.passwords.hash(new)
        async with unit_of_work(self.sessions) as session:
            locked = await session.get(User, user.id)
            assert locked is not None
            locked.token_version += 1
            locked.tokens_revoked_at = utcnow()
            await revoke_user_sessions(session, user.id)
            version = locked.token_version
        await self.revoker.deliver(self.revoker.user(user.id, version))
        return await self._start_session(user.id, client_ip, new_hash, "password.changed")
