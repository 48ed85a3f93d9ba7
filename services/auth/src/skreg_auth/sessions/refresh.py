"""Refresh-token rows: issued, claimed once, revoked by session (family) or by user."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid

from skreg_common.db import rows_affected, utcnow
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.sessions.models import RefreshToken
from skreg_auth.users.models import User

REFRESH_PREFIX = "rt_"
REFRESH_RE = re.compile(r"rt_[A-Za-z0-9_-]{43}")


def token_hash(token: str) -> str:
    """What is stored instead of the token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def add_refresh_token(
    session: AsyncSession, user_id: str, family: str, client_ip: str | None, ttl: dt.timedelta
) -> str:
    """A new token of session `family`, added to `session`; the only time its value exists."""
    token = REFRESH_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            id=str(uuid.uuid4()),
            family_id=family,
            user_id=user_id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + ttl,
            client_ip=client_ip,
        )
    )
    return token


async def claim(session: AsyncSession, stored: RefreshToken, user: User, now: dt.datetime) -> str:
    """Use `stored` up: "ok", or why not ("revoked", "reused", "expired")."""
    if stored.revoked_at is not None:
        return "revoked"
    if stored.used_at is not None:
        return "reused"
    if stored.expires_at <= now or user.disabled:
        return "expired"
    # Claim it atomically: of two concurrent uses exactly one wins, the other is a reuse.
    claimed = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == stored.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
    )
    return "ok" if rows_affected(claimed) == 1 else "reused"


async def revoke_family(session: AsyncSession, family: str, now: dt.datetime) -> None:
    """End one login session: its tokens not yet revoked are, as of `now`."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_sessions(session: AsyncSession, user_id: str) -> None:
    """End every login session of the user."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
