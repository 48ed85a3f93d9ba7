"""The seed admin (ADMIN_USERNAME, ADMIN_EMAIL, ADMIN_PASSWORD), created at start-up."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_auth.audit.service import AuditService
from skreg_auth.passwords import Passwords
from skreg_auth.users.models import User
from skreg_auth.users.service import new_user, normalize_username, registration_problems

log = structlog.get_logger(__name__)


async def bootstrap_admin(
    sessions: async_sessionmaker[AsyncSession],
    passwords: Passwords,
    *,
    username: str,
    email: str,
    password: str,
) -> str:
    """Create the seed admin when `username` does not exist; never touches an existing one.

    Returns "created" or "exists". Safe across restarts and racing replicas.
    """
    username = normalize_username(username)
    async with sessions() as session:
        existing = await session.scalar(select(User.id).where(User.username == username))
    if existing is not None:
        return "exists"
    # The password rule is not applied here: dev's seed `admin123` is short on purpose,
    # and prod refuses it (and anything under 10 characters) in the settings already.
    problems = [p for p in registration_problems(username, email, password) if p.path != "password"]
    if problems:
        details = "; ".join(f"{p.path}: {p.message}" for p in problems)
        raise ValueError(f"the seed admin (ADMIN_*) is not valid: {details}")
    password_hash = await passwords.hash(password)
    try:
        async with sessions() as session, session.begin():
            user = new_user(username, email, password_hash, "admin")
            session.add(user)
            await session.flush()
            AuditService(session).record(
                "admin.bootstrapped",
                actor_name="system",
                target_type="user",
                target_id=user.id,
            )
    except IntegrityError:
        # Another replica created it first, or the email belongs to someone else.
        log.warning("admin.bootstrap_skipped", username=username)
        return "exists"
    log.info("admin.bootstrapped", username=username)
    return "created"
