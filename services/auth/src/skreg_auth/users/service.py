"""Users: registration, lookup, the admin's changes (role, disable/enable)."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import structlog
from skreg_common.db import utcnow
from skreg_common.errors import BadRequest, Conflict, Invalid, NotFound
from skreg_common.principal import Principal
from skreg_proto.auth import RegisterRequest, UserOut, UserUpdateRequest
from skreg_proto.pagination import InvalidCursor, Page, clamp_limit, decode_cursor, encode_cursor
from skreg_proto.problems import FieldProblem
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_auth.audit.service import AuditService
from skreg_auth.inputs import is_clean
from skreg_auth.orgs.models import Org
from skreg_auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from skreg_auth.sessions.refresh import revoke_user_sessions
from skreg_auth.users.convert import to_user
from skreg_auth.users.models import MAX_EMAIL_KEY_LENGTH, ROLES, User, email_key

if TYPE_CHECKING:
    from skreg_auth.context import AuthContext

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{1,38}")
# Deliberately loose (intranet hosts need no dot); the mailbox must only look like one.
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")
MAX_EMAIL_LENGTH = 254

log = structlog.get_logger(__name__)


def normalize_username(value: str) -> str:
    """Usernames are case-insensitive: stored and compared lower-case."""
    return value.strip().lower()


def login_key(identifier: str) -> str:
    """What a sign-in identifier is looked up by: an email's key, or the lower-case username."""
    return email_key(identifier) if "@" in identifier else normalize_username(identifier)


def new_user(username: str, email: str, password_hash: str, role: str) -> User:
    """A new, enabled account (`username` already normalized, `email` as given)."""
    return User(
        id=str(uuid.uuid4()),
        username=username,
        email=email,
        email_key=email_key(email),
        password_hash=password_hash,
        role=role,
        disabled=False,
        token_version=0,
    )


def registration_problems(username: str, email: str, password: str) -> list[FieldProblem]:
    """Every reason the registration is invalid, at once."""
    problems: list[FieldProblem] = []
    if not USERNAME_RE.fullmatch(username):
        problems.append(
            FieldProblem(
                "username",
                "2-39 characters: lower-case letters, digits, '-' or '_', "
                "starting with a letter or digit",
            )
        )
    if (
        len(email) > MAX_EMAIL_LENGTH
        or not email.isprintable()
        or not EMAIL_RE.fullmatch(email)
        or len(email_key(email)) > MAX_EMAIL_KEY_LENGTH
    ):
        problems.append(FieldProblem("email", "not an email address"))
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(FieldProblem("password", f"at least {MIN_PASSWORD_LENGTH} characters"))
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems.append(FieldProblem("password", f"at most {MAX_PASSWORD_LENGTH} characters"))
    return problems


async def _taken(
    sessions: async_sessionmaker[AsyncSession], username: str, email: str
) -> list[FieldProblem]:
    key = email_key(email)
    async with sessions() as session:
        rows = (
            await session.execute(
                select(User.username, User.email_key).where(
                    or_(User.username == username, User.email_key == key)
                )
            )
        ).all()
        # Organizations and users share one name space: both name namespaces.
        org = await session.scalar(select(Org.id).where(Org.name == username))
    problems = []
    if org is not None or any(row.username == username for row in rows):
        problems.append(FieldProblem("username", "already taken"))
    if any(row.email_key == key for row in rows):
        problems.append(FieldProblem("email", "already registered"))
    return problems


class UserService:
    """Accounts: registration, lookup, and the admin's changes (role, disable/enable)."""

    def __init__(self, session: AsyncSession, auth: AuthContext) -> None:
        self.session = session
        self.auth = auth
        self.audit = AuditService(session)

    async def register(
        self,
        data: RegisterRequest,
        *,
        role: str = "user",
        actor: Principal | None = None,
        client_ip: str | None = None,
    ) -> User:
        """Create a user; `Invalid` lists every problem, `Conflict` a taken name or email.

        The cheap checks come first: a taken name or email is answered before any
        password is hashed (the 409 tells that much anyway), so a flood of them costs
        no CPU. The check uses a short session of its own and the request's session is
        first used after the hash: no connection is held during the slow part.
        """
        username, email = normalize_username(data.username), data.email.strip()
        problems = registration_problems(username, email, data.password)
        if problems:
            raise Invalid("the registration is not valid", errors=problems)
        taken = await _taken(self.auth.runtime.sessions, username, email)
        if taken:
            raise Conflict("username or email already in use", errors=taken)
        password_hash = await self.auth.passwords.hash(data.password, lane="register")
        user = new_user(username, email, password_hash, role)
        self.session.add(user)
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent registration won the race
            raise Conflict("username or email already in use") from exc
        self.audit.record(
            "user.registered",
            actor=actor,
            actor_id=None if actor else user.id,
            actor_name=None if actor else user.username,
            target_type="user",
            target_id=user.id,
            client_ip=client_ip,
        )
        log.info("user.registered", user_id=user.id, username=user.username)
        return user

    async def get_user(self, user_id: str) -> User:
        """The user with `user_id`, or `NotFound`."""
        _check_id(user_id)
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def list_users(
        self,
        *,
        q: str | None = None,
        role: str | None = None,
        disabled: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[UserOut]:
        """Users by username, filtered by a substring of username/email, role and state."""
        size = clamp_limit(limit)
        filters = []
        if q:
            if not is_clean(q, 100):
                raise BadRequest("q must be a short printable string")
            needle = q.strip().lower()
            filters.append(
                or_(
                    User.username.contains(needle, autoescape=True),
                    func.lower(User.email).contains(needle, autoescape=True),
                )
            )
        if role is not None:
            if role not in ROLES:
                raise BadRequest(f"role must be one of {', '.join(ROLES)}")
            filters.append(User.role == role)
        if disabled is not None:
            filters.append(User.disabled.is_(disabled))
        query = select(User).where(*filters).order_by(User.username).limit(size + 1)
        if cursor:
            query = query.where(User.username > _cursor_username(cursor))
        rows = list((await self.session.scalars(query)).all())
        total = await self.session.scalar(select(func.count()).select_from(User).where(*filters))
        more = len(rows) > size
        rows = rows[:size]
        return Page(
            items=[to_user(u) for u in rows],
            next_cursor=encode_cursor([rows[-1].username]) if more and rows else None,
            total=total,
        )

    async def update_user(
        self,
        actor: Principal,
        user_id: str,
        change: UserUpdateRequest,
        *,
        client_ip: str | None = None,
    ) -> User:
        """Change a user's role and/or disabled state; never leaves the registry adminless."""
        if change.role is not None and change.role not in ROLES:
            raise Invalid(errors=[FieldProblem("role", f"one of {', '.join(ROLES)}")])
        _check_id(user_id)
        session = self.session
        await _active_admins(session, lock=True)
        user = (
            await session.scalars(select(User).where(User.id == user_id).with_for_update())
        ).one_or_none()
        if user is None:
            raise NotFound("no such user")
        was_admin = user.role == "admin" and not user.disabled
        events: list[tuple[str, dict[str, object]]] = []
        revoke = False
        if change.role is not None and change.role != user.role:
            events.append(("user.role_changed", {"from": user.role, "to": change.role}))
            user.role = change.role
            revoke = True  # tokens carry roles and scopes: old ones must not outlive the change
        if change.disabled is not None and change.disabled != user.disabled:
            user.disabled = change.disabled
            events.append(("user.disabled" if change.disabled else "user.enabled", {}))
            revoke = revoke or change.disabled
        if not events:
            return user
        now = utcnow()
        user.updated_at = now
        if revoke:
            user.token_version += 1
            user.tokens_revoked_at = now
        await session.flush()
        still_admin = user.role == "admin" and not user.disabled
        if was_admin and not still_admin and not await _active_admins(session, lock=False):
            raise Conflict("this is the last active admin; promote another one first")
        if user.disabled:
            await revoke_user_sessions(session, user.id)
        for action, details in events:
            self.audit.record(
                action,
                actor=actor,
                target_type="user",
                target_id=user.id,
                client_ip=client_ip,
                details=details,
            )
        # Also on re-enable: cached "inactive" answers for the user's keys must go.
        revoker = self.auth.revoker
        revoker.after_commit(session, revoker.user(user.id, user.token_version))
        log.info("user.updated", user_id=user.id, changes=[a for a, _ in events], actor=actor.id)
        return user


def _check_id(user_id: str) -> None:
    if not is_clean(user_id, 36):
        raise NotFound("no such user")


def _cursor_username(cursor: str) -> str:
    try:
        position = decode_cursor(cursor)
    except InvalidCursor as exc:
        raise BadRequest(str(exc)) from exc
    if len(position) != 1 or not isinstance(position[0], str) or not is_clean(position[0], 39):
        raise BadRequest("malformed cursor")
    return position[0]


async def _active_admins(session: AsyncSession, *, lock: bool) -> list[str]:
    query = select(User.id).where(User.role == "admin", User.disabled.is_(False))
    # PostgreSQL: concurrent admin changes queue here, so two admins cannot demote each
    # other at once. SQLite ignores FOR UPDATE; its single writer serializes them instead.
    return list((await session.scalars(query.with_for_update() if lock else query)).all())
