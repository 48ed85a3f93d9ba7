"""Resolving API keys for every service: auth's own, in-process answer to "whose key is this?"."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from skreg_common.db import unit_of_work, utcnow
from skreg_common.principal import ALL_SCOPES
from skreg_proto.internal import IntrospectResponse
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skreg_auth.apikeys.models import ApiKey
from skreg_auth.apikeys.service import ADMIN_ENV_KEY_ID, hash_secret, parse_key
from skreg_auth.orgs.service import memberships_of
from skreg_auth.users.models import User

LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()
_LOOKUP = (
    select(
        ApiKey.secret_hash,
        ApiKey.scopes,
        ApiKey.namespaces,
        ApiKey.expires_at,
        ApiKey.revoked_at,
        ApiKey.last_used_at,
        User.id.label("user_id"),
        User.username,
        User.role,
        User.disabled,
    )
    .join(User, User.id == ApiKey.user_id)
    .where(ApiKey.id == bindparam("key_id"))
)


class LocalIntrospector:
    """Auth's own answer to "whose key is this?": one indexed query, no slow hash."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        *,
        admin_username: str,
        admin_api_key: str | None,
        cache_seconds: int,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._admin_username = admin_username.strip().lower()
        # Only the hash of ADMIN_API_KEY is kept; unsetting the variable revokes it.
        self._admin_key_hash = (
            hashlib.sha256(admin_api_key.encode()).digest() if admin_api_key else None
        )
        self._cache_seconds = cache_seconds

    async def introspect(self, key: str) -> IntrospectResponse:
        """Active with the principal's details, or `active=False` (no reason given)."""
        if self._admin_key_hash is not None and hmac.compare_digest(
            hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest(), self._admin_key_hash
        ):
            return await self._admin()
        parsed = parse_key(key)
        if parsed is None:
            return IntrospectResponse(active=False)
        key_id, secret = parsed
        # A plain connection and plain columns, no ORM session: the hot path of every
        # uncached key.
        async with self._engine.connect() as connection:
            row = (await connection.execute(_LOOKUP, {"key_id": key_id})).first()
        matches = hmac.compare_digest(row.secret_hash if row else _DUMMY_HASH, hash_secret(secret))
        if row is None or not matches:
            return IntrospectResponse(active=False)
        now = utcnow()
        if (
            row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
            or row.disabled
        ):
            return IntrospectResponse(active=False)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            await self._touch(key_id, now)
        async with self._sessions() as session:
            orgs = await memberships_of(session, row.user_id)
        ttl = self._cache_seconds
        if row.expires_at is not None:
            ttl = min(ttl, max(0, int((row.expires_at - now).total_seconds())))
        return IntrospectResponse(
            active=True,
            user_id=row.user_id,
            username=row.username,
            roles=[row.role],
            scopes=row.scopes.split(),
            key_id=key_id,
            cache_seconds=ttl,
            orgs=orgs,
            namespaces=None if row.namespaces is None else row.namespaces.split(),
        )

    async def _admin(self) -> IntrospectResponse:
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.username == self._admin_username))
        if user is None or user.disabled:
            return IntrospectResponse(active=False)
        return IntrospectResponse(
            active=True,
            user_id=user.id,
            username=user.username,
            roles=[user.role],
            scopes=list(ALL_SCOPES),
            key_id=ADMIN_ENV_KEY_ID,
            cache_seconds=self._cache_seconds,
            orgs=await self._orgs(user.id),
        )

    async def _orgs(self, user_id: str) -> dict[str, str]:
        async with self._sessions() as session:
            return await memberships_of(session, user_id)

    async def _touch(self, key_id: str, now: dt.datetime) -> None:
        # Minute resolution: a busy key costs one small write a minute, not one per request.
        async with unit_of_work(self._sessions) as session:
            await session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == key_id,
                    or_(
                        ApiKey.last_used_at.is_(None),
                        ApiKey.last_used_at < now - LAST_USED_RESOLUTION,
                    ),
                )
                .values(last_used_at=now)
            )
