"""Making revocations take effect everywhere the moment they commit.

Services queue events on the request's session; they are applied to this process's
RevocationList (and broadcast on Redis) only after the transaction commits, so a
rolled-back change never revokes anything, and a committed one is never missed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from skreg_common.db import utcnow
from skreg_common.revocation import RevocationList, publish_revocation
from skreg_common.verifier import CLOCK_LEEWAY_S
from skreg_proto.auth import RevocationEvent
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from skreg_auth.sessions.models import RefreshToken
from skreg_auth.users.models import User

PENDING = "skreg_auth.revocations"
LISTENING = "skreg_auth.revocations.listening"

log = structlog.get_logger(__name__)


class Revoker:
    """Creates revocation events and delivers them after commit."""

    def __init__(
        self, revocations: RevocationList, *, access_ttl: int, redis: Redis | None
    ) -> None:
        self.revocations = revocations
        self._lifetime = access_ttl + CLOCK_LEEWAY_S
        self._redis = redis
        self._tasks: set[asyncio.Task[None]] = set()

    def _until(self) -> float:
        return time.time() + self._lifetime

    def user(self, user_id: str, min_version: int) -> RevocationEvent:
        """Void the user's access tokens below `min_version`, drop their cached keys."""
        return RevocationEvent(
            kind="user", id=user_id, min_version=min_version, until=self._until()
        )

    def session(self, session_id: str) -> RevocationEvent:
        """Void the access tokens of one login session."""
        return RevocationEvent(kind="session", id=session_id, until=self._until())

    def key(self, key_id: str) -> RevocationEvent:
        """Drop cached answers for one API key."""
        return RevocationEvent(kind="key", id=key_id, until=self._until())

    def after_commit(self, session: AsyncSession, *events: RevocationEvent) -> None:
        """Deliver `events` once `session` commits (discarded if it rolls back)."""
        sync: Session = session.sync_session
        if not sync.info.get(LISTENING):
            # Once per session (sessions live for one request or job), never removed
            # while SQLAlchemy is dispatching.
            sync.info[LISTENING] = True
            event.listen(sync, "after_commit", self._committed)
            event.listen(sync, "after_rollback", _discard)
        sync.info.setdefault(PENDING, []).extend(events)

    def _committed(self, sync: Session) -> None:
        events: list[RevocationEvent] = sync.info.pop(PENDING, [])
        for item in events:
            self.revocations.apply(item)
        if events and self._redis is not None:
            task = asyncio.get_running_loop().create_task(self._broadcast(events))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def deliver(self, *events: RevocationEvent) -> None:
        """Apply and broadcast now (for changes committed outside a request session)."""
        for item in events:
            self.revocations.apply(item)
        if events and self._redis is not None:
            await self._broadcast(list(events))

    async def _broadcast(self, events: list[RevocationEvent]) -> None:
        assert self._redis is not None
        for item in events:
            try:
                await publish_revocation(self._redis, item)
            except RedisError as exc:
                # Applied here already; elsewhere caches still expire within 30 s.
                log.error("revocation.broadcast_failed", kind=item.kind, error=type(exc).__name__)

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Re-learn, from the database, revocations whose tokens may still be alive."""
        since = utcnow() - dt.timedelta(seconds=self._lifetime)
        async with sessions() as session:
            users = (
                await session.execute(
                    select(User.id, User.token_version, User.tokens_revoked_at).where(
                        User.tokens_revoked_at >= since
                    )
                )
            ).all()
            families = (
                await session.execute(
                    select(RefreshToken.family_id, RefreshToken.revoked_at)
                    .where(RefreshToken.revoked_at >= since)
                    .distinct()
                )
            ).all()
        for user_id, version, at in users:
            until = (at or utcnow()).timestamp() + self._lifetime
            self.revocations.apply(
                RevocationEvent(kind="user", id=user_id, min_version=version, until=until)
            )
        for family_id, at in families:
            until = (at or utcnow()).timestamp() + self._lifetime
            self.revocations.apply(RevocationEvent(kind="session", id=family_id, until=until))
        return len(users) + len(families)

    async def drain(self) -> None:
        """Wait for broadcasts still in flight (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _discard(sync: Session, *_args: Any) -> None:
    sync.info.pop(PENDING, None)
