"""API keys: create (secret shown once), list, revoke; resolving them is `introspection`.

A key is `sr_<key id>_<secret>`: the key id is the table's primary key, so resolving
a key is one indexed lookup, then a constant-time comparison of SHA-256(secret). A
fast hash is right here (unlike passwords): the secret is 256 random bits.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from typing import TYPE_CHECKING

import structlog
from skreg_common.db import utcnow
from skreg_common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from skreg_common.principal import ALL_SCOPES, Principal
from skreg_proto.auth import ApiKeyCreated, ApiKeyOut, KeyCreateRequest
from skreg_proto.pagination import Page
from skreg_proto.problems import FieldProblem
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.apikeys.convert import to_key
from skreg_auth.apikeys.models import KEY_PREFIX, ApiKey
from skreg_auth.audit.service import AuditService
from skreg_auth.inputs import is_clean

if TYPE_CHECKING:
    from skreg_auth.context import AuthContext

KEY_RE = re.compile(r"sr_([a-z2-7]{16})_([a-z2-7]{52})")
ADMIN_ENV_KEY_ID = "env-admin-key"
MAX_EXPIRY_DAYS = 3650

log = structlog.get_logger(__name__)


def _b32(n: int) -> str:
    return base64.b32encode(secrets.token_bytes(n)).decode("ascii").rstrip("=").lower()


def generate_key() -> tuple[str, str]:
    """A new (key id, full key): 80 bits of id, 256 bits of secret."""
    key_id, secret = _b32(10), _b32(32)
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}"


def parse_key(value: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = KEY_RE.fullmatch(value)
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> str:
    """What is stored instead of the secret."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


NAMESPACE_PATTERN_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}/\*")
MAX_KEY_NAMESPACES = 20


def _namespaces(principal: Principal, asked: list[str] | None) -> list[str] | None:
    """The key's namespace limit: `ns/*` patterns, never wider than the creating key's."""
    if asked is None:
        return None if principal.namespaces is None else list(principal.namespaces)
    patterns = list(dict.fromkeys(p.strip().lower() for p in asked))
    if (
        not patterns
        or len(patterns) > MAX_KEY_NAMESPACES
        or not all(NAMESPACE_PATTERN_RE.fullmatch(p) for p in patterns)
    ):
        raise Invalid(
            "the key request is not valid",
            errors=[FieldProblem("namespaces", f"1-{MAX_KEY_NAMESPACES} patterns like 'acme/*'")],
        )
    beyond = [p for p in patterns if not principal.may_use_namespace(p.removesuffix("/*"))]
    if beyond:
        raise Forbidden(f"this credential cannot grant namespaces it lacks: {', '.join(beyond)}")
    return patterns


def _validated(principal: Principal, data: KeyCreateRequest) -> tuple[str, list[str]]:
    problems: list[FieldProblem] = []
    name = data.name.strip()
    if not name or not is_clean(name, 100):
        problems.append(FieldProblem("name", "1-100 printable characters"))
    unknown = [s for s in data.scopes if s not in ALL_SCOPES]
    if unknown or not data.scopes:
        problems.append(FieldProblem("scopes", f"a non-empty list of {', '.join(ALL_SCOPES)}"))
    if data.expires_in_days is not None and not 1 <= data.expires_in_days <= MAX_EXPIRY_DAYS:
        problems.append(FieldProblem("expires_in_days", f"between 1 and {MAX_EXPIRY_DAYS}"))
    if problems:
        raise Invalid("the key request is not valid", errors=problems)
    scopes = [s for s in ALL_SCOPES if s in data.scopes]
    if "admin" in scopes and "admin" not in principal.roles:
        raise Forbidden("only administrators can create keys with the admin scope")
    # A key can only mint keys that can do less than itself, never more.
    beyond = [s for s in scopes if not principal.has_scope(s)]
    if beyond:
        raise Forbidden(f"this credential cannot grant scopes it lacks: {', '.join(beyond)}")
    return name, scopes


async def _parent(session: AsyncSession, principal: Principal) -> ApiKey | None:
    """The key the caller authenticated with (None: a signed-in session or ADMIN_API_KEY)."""
    if principal.key_id is None or principal.key_id == ADMIN_ENV_KEY_ID:
        return None
    parent = await session.get(ApiKey, principal.key_id)
    if parent is None or parent.revoked_at is not None or parent.user_id != principal.id:
        raise Unauthorized("this API key is no longer valid")  # revoked since it was resolved
    return parent


def _expiry(data: KeyCreateRequest, parent: ApiKey | None, now: dt.datetime) -> dt.datetime | None:
    """When the new key expires: as asked, and never after the key that creates it."""
    asked = None if data.expires_in_days is None else now + dt.timedelta(days=data.expires_in_days)
    limit = parent.expires_at if parent is not None else None
    if limit is None:
        return asked
    if limit <= now:
        raise Unauthorized("this API key is no longer valid")
    if asked is None:
        return limit  # a key that expires cannot create one that does not
    if asked > limit:
        days = max(0, int((limit - now).total_seconds() // 86400))
        raise Invalid(
            "the key request is not valid",
            errors=[
                FieldProblem(
                    "expires_in_days",
                    f"at most {days}: a key cannot outlive the key that creates it "
                    f"(it expires {limit.isoformat()})",
                )
            ],
        )
    return asked


class ApiKeyService:
    """The caller's keys: create (the secret shown once), list, revoke."""

    def __init__(self, session: AsyncSession, auth: AuthContext) -> None:
        self.session = session
        self.auth = auth
        self.audit = AuditService(session)

    async def create_key(
        self, principal: Principal, data: KeyCreateRequest, *, client_ip: str | None = None
    ) -> ApiKeyCreated:
        """Create a key for the caller; the response is the only time the secret exists.

        A key created with a key gets no more scopes than it and expires no later; it
        records its parent, so revoking the parent revokes it too.
        """
        assert principal.id is not None
        name, scopes = _validated(principal, data)
        namespaces = _namespaces(principal, data.namespaces)
        parent = await _parent(self.session, principal)
        now = utcnow()
        expires = _expiry(data, parent, now)
        active = await self.session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.user_id == principal.id, ApiKey.revoked_at.is_(None))
        )
        max_keys = self.auth.settings.max_keys_per_user
        if (active or 0) >= max_keys:
            raise Conflict(f"at most {max_keys} active keys per user; revoke one first")
        key_id, full = generate_key()
        key = ApiKey(
            id=key_id,
            user_id=principal.id,
            name=name,
            scopes=" ".join(scopes),
            namespaces=None if namespaces is None else " ".join(namespaces),
            secret_hash=hash_secret(full.rsplit("_", 1)[1]),
            created_at=now,
            expires_at=expires,
            parent_id=parent.id if parent is not None else None,
        )
        self.session.add(key)
        await self.session.flush()
        self.audit.record(
            "key.created",
            actor=principal,
            target_type="api_key",
            target_id=key_id,
            client_ip=client_ip,
            details={
                "name": name,
                "scopes": scopes,
                "expires_at": expires.isoformat() if expires else None,
                "parent_id": key.parent_id,
                "namespaces": namespaces,
            },
        )
        log.info("key.created", key_id=key_id, user_id=principal.id, scopes=scopes)
        return ApiKeyCreated(
            id=key_id,
            name=name,
            scopes=scopes,
            key=full,
            created_at=now,
            expires_at=expires,
            prefix=f"{KEY_PREFIX}{key_id}",
            parent_id=key.parent_id,
            namespaces=namespaces,
        )

    async def list_keys(self, user_id: str) -> Page[ApiKeyOut]:
        """The user's keys that are not revoked, newest first (at most MAX_KEYS: one page)."""
        rows = (
            await self.session.scalars(
                select(ApiKey)
                .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                .order_by(ApiKey.created_at.desc(), ApiKey.id)
            )
        ).all()
        return Page(items=[to_key(k) for k in rows], total=len(rows))

    async def revoke_key(
        self, principal: Principal, key_id: str, *, client_ip: str | None = None
    ) -> None:
        """Revoke one of the caller's keys (admins: anyone's) and every key created with it.

        Repeating it is harmless. Who may call it at all is the route's guard.
        """
        session, revoker = self.session, self.auth.revoker
        key = await session.get(ApiKey, key_id) if is_clean(key_id, 32) else None
        if key is None or (key.user_id != principal.id and not principal.is_admin):
            raise NotFound("no such key")  # someone else's key is not even confirmed to exist
        now = utcnow()
        revoked = [k for k in [key, *await _descendants(session, key.id)] if k.revoked_at is None]
        for each in revoked:
            each.revoked_at = now
        await session.flush()
        for each in revoked:
            self.audit.record(
                "key.revoked",
                actor=principal,
                target_type="api_key",
                target_id=each.id,
                client_ip=client_ip,
                details={"owner_id": each.user_id, "name": each.name, "via": key.id},
            )
            revoker.after_commit(session, revoker.key(each.id))
        log.info("key.revoked", key_id=key.id, actor=principal.id, revoked=len(revoked))


async def _descendants(session: AsyncSession, key_id: str) -> list[ApiKey]:
    """Every key created with `key_id`, with keys those created, and so on."""
    found: list[ApiKey] = []
    frontier = [key_id]
    while frontier:
        children = (
            await session.scalars(select(ApiKey).where(ApiKey.parent_id.in_(frontier)))
        ).all()
        found.extend(children)
        frontier = [child.id for child in children]
    return found
