"""Reading skills and versions, yanking, and soft-deleting skills."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from skreg_common.db import utcnow
from skreg_common.errors import BadRequest, Forbidden, Invalid, NotFound
from skreg_common.principal import Principal
from skreg_proto.bundle import Bundle, BundleLimits, read_bundle
from skreg_proto.catalog import SkillVersion
from skreg_proto.pagination import (
    InvalidCursor,
    Page,
    clamp_limit,
    cursor_text,
    decode_cursor,
    encode_cursor,
)
from skreg_proto.problems import FieldProblem
from skreg_proto.semver import Version as SemVer
from skreg_proto.semver import parse_version
from sqlalchemy import Select, and_, bindparam, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer

from skreg_catalog.context import CatalogContext
from skreg_catalog.skills.convert import to_version
from skreg_catalog.skills.models import PUBLIC_VERSION, Namespace, Skill, Version
from skreg_catalog.skills.state import can_manage, refresh_skill

log = structlog.get_logger(__name__)

LATEST = "latest"
MAX_REASON = 500
# Stored bundles passed the limits in force when they were published; reading them
# back must not fail because an operator lowered the limits since.
STORED_LIMITS = BundleLimits(
    max_files=100_000,
    max_file_bytes=2**31,
    max_total_bytes=2**33,
    max_compressed_bytes=2**33,
)
INLINE_PARSE_BYTES = 256 * 1024


# Built once: constructing ORM statements costs more than running them on SQLite.
EXISTING_SKILL = and_(
    Skill.namespace == bindparam("namespace"),
    Skill.name == bindparam("name"),
    Skill.deleted_at.is_(None),
)
_ANY_VERSION = aliased(Version)
# A skill with no version the public may see (only withheld ones) is absent, exactly
# as one that never existed (`skreg_catalog.review.visibility`).
HAS_PUBLIC_VERSION = (
    select(_ANY_VERSION.id)
    .where(
        _ANY_VERSION.skill_id == Skill.id,
        _ANY_VERSION.deleted_at.is_(None),
        _ANY_VERSION.withheld.is_(False),
    )
    .exists()
)
VISIBLE_SKILL = and_(EXISTING_SKILL, HAS_PUBLIC_VERSION)


def with_version(columns: Sequence[Any], *, latest: bool, found: bool = False) -> Select[Any]:
    """`columns` of the visible skill `:namespace/:name` and of its latest version, or of
    the version named `:version` (an outer join: the version's columns are None when
    there is none).

    `found`: only a version the public may see, inner-joined; a row then proves the
    skill visible, so `VISIBLE_SKILL`'s EXISTS (one more index search) is left out, and
    no row means missing, hidden or withheld alike (the outer form tells which).
    """
    visible = and_(Version.deleted_at.is_(None), PUBLIC_VERSION)
    if latest:
        on = Version.id == Skill.latest_version_id
        if found:
            on = and_(on, visible)
    else:
        on = and_(Version.skill_id == Skill.id, Version.version == bindparam("version"), visible)
    if found:
        return select(*columns).select_from(Skill).join(Version, on).where(EXISTING_SKILL)
    return select(*columns).select_from(Skill).outerjoin(Version, on).where(VISIBLE_SKILL)


_LATEST_VERSION = with_version((Skill, Version), latest=True)
_EXACT_VERSION = with_version((Skill, Version), latest=False)


def _version_key(version: Version) -> tuple[SemVer, str]:
    # Precedence first; the text breaks ties between versions differing only in build metadata.
    return parse_version(version.version), version.version


@dataclass(frozen=True)
class Located:
    """Where one version's bytes are: what downloads and file reads need, small to cache."""

    namespace: str
    name: str
    version: str
    version_id: int
    skill_id: int
    digest: str
    files: dict[str, str]  # path -> sha256 of its content


class SkillService:
    """Everything about existing skills; publishing lives in `publishing.service`."""

    def __init__(self, session: AsyncSession, catalog: CatalogContext) -> None:
        self.session = session
        self.catalog = catalog

    async def find_skill(self, namespace: str, name: str, *, lock: bool = False) -> Skill:
        """A visible (not deleted) skill, optionally locked for update; else NotFound."""
        query = select(Skill).where(
            Skill.namespace == namespace, Skill.name == name, Skill.deleted_at.is_(None)
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        skill = (await self.session.execute(query)).scalar_one_or_none()
        if skill is None:
            raise NotFound(f"no skill {namespace}/{name}")
        return skill

    async def list_versions(
        self,
        namespace: str,
        name: str,
        cursor: str | None,
        limit: int | None,
        *,
        with_withheld: bool = False,
    ) -> Page[SkillVersion]:
        """Versions newest first by semver; the cursor is the last version seen.

        `with_withheld`: include withheld versions (the caller checked `may_see_version`).
        """
        skill = await self.find_skill(namespace, name)
        rows = (
            await self.session.execute(
                select(Version)
                .where(
                    Version.skill_id == skill.id,
                    Version.deleted_at.is_(None),
                    or_(PUBLIC_VERSION, literal(with_withheld)),
                )
                .options(defer(Version.body))
            )
        ).scalars()
        ordered = sorted(rows, key=_version_key, reverse=True)
        total = len(ordered)
        if total == 0:  # only withheld versions: absent, as if it never existed
            raise NotFound(f"no skill {namespace}/{name}")
        if cursor is not None:
            after = _cursor_version(cursor)
            ordered = [v for v in ordered if _version_key(v) < after]
        size = clamp_limit(limit)
        page = ordered[:size]
        next_cursor = encode_cursor([page[-1].version]) if len(ordered) > size else None
        return Page(
            items=[to_version(skill, v) for v in page], next_cursor=next_cursor, total=total
        )

    async def resolve(self, namespace: str, name: str, version: str) -> tuple[Skill, Version]:
        """The skill and one of its versions (one round trip); `latest` is the current latest.

        (The version page itself reads through `skills.hot.read_version`.)
        """
        params = {"namespace": namespace, "name": name, "version": version}
        query = _LATEST_VERSION if version == LATEST else _EXACT_VERSION
        row = (await self.session.execute(query, params)).first()
        if row is None:
            raise NotFound(f"no skill {namespace}/{name}")
        skill: Skill = row[0]
        found: Version | None = row[1]
        if found is None:
            if version == LATEST:
                raise NotFound(f"{namespace}/{name} has no installable version")
            raise NotFound(f"no version {version} of {namespace}/{name}")
        return skill, found

    async def bundle_bytes(self, digest: str) -> bytes:
        """The stored bundle with this digest."""
        data = await self.catalog.blobs.get(self.session, digest)
        if data is None:  # pragma: no cover - the foreign key makes this impossible
            raise NotFound(f"bundle {digest} is missing")
        return data

    async def bundle(self, digest: str) -> Bundle:
        """The parsed bundle (cached by digest; bundles are immutable)."""
        cached = self.catalog.bundles.get(digest)
        if cached is not None:
            return cached
        data = await self.bundle_bytes(digest)
        if len(data) > INLINE_PARSE_BYTES:
            parsed = await asyncio.to_thread(read_bundle, data, STORED_LIMITS)
        else:
            parsed = read_bundle(data, STORED_LIMITS)
        self.catalog.bundles[digest] = parsed
        return parsed

    async def set_yanked(
        self,
        namespace: str,
        name: str,
        version: str,
        principal: Principal,
        reason: str | None,
    ) -> SkillVersion:
        """Yank (with a reason) or unyank (`reason` None) one exact version."""
        if reason is not None:
            reason = reason.strip()
            if not reason or len(reason) > MAX_REASON:
                raise Invalid(
                    "a yank needs a reason",
                    errors=[FieldProblem("reason", f"must be 1 to {MAX_REASON} characters")],
                )
            # PostgreSQL text cannot hold NUL (a driver error, so a 500), and other control
            # characters would reach every terminal that shows the reason; line breaks stay.
            if any(not ch.isprintable() and ch not in "\n\t" for ch in reason):
                raise Invalid(
                    "the yank reason contains control characters",
                    errors=[FieldProblem("reason", "must not contain control characters")],
                )
        skill = await self.find_skill(namespace, name, lock=True)
        await self._require_manager(skill, principal)
        if version == LATEST:
            raise BadRequest("yank an exact version, not 'latest'")
        _, found = await self.resolve(namespace, name, version)
        found.yanked = reason is not None
        found.yank_reason = reason
        found.yanked_at = utcnow() if reason is not None else None
        await refresh_skill(self.session, skill)
        log.info(
            "skill.yanked" if reason is not None else "skill.unyanked",
            skill=f"{namespace}/{name}",
            version=found.version,
            actor=principal.username,
        )
        return to_version(skill, found)

    async def delete_skill(self, namespace: str, name: str, principal: Principal) -> None:
        """Soft delete: hidden from every read; its versions stay reserved forever."""
        skill = await self.find_skill(namespace, name, lock=True)
        await self._require_manager(skill, principal)
        now = utcnow()
        skill.deleted_at = now
        await self.session.execute(
            update(Version)
            .where(Version.skill_id == skill.id, Version.deleted_at.is_(None))
            .values(deleted_at=now)
        )
        await refresh_skill(self.session, skill)
        log.info("skill.deleted", skill=f"{namespace}/{name}", actor=principal.username)

    async def _require_manager(self, skill: Skill, principal: Principal) -> None:
        namespace = await self.session.get(Namespace, skill.namespace_id)
        if namespace is None or not can_manage(namespace, principal):
            raise Forbidden(f"only the owners of {skill.namespace} or an admin may do this")


def _cursor_version(cursor: str) -> tuple[SemVer, str]:
    try:
        position: list[Any] = decode_cursor(cursor)
        if len(position) != 1:  # `[]` too: check the shape before indexing
            raise InvalidCursor("malformed cursor")
        text = cursor_text(position[0])
        return parse_version(text), text
    except (InvalidCursor, ValueError) as exc:
        raise BadRequest("invalid cursor") from exc
