"""Reads for the ClawHub API: a ClawHub owner handle is our namespace, its slug our name.

`clawhub install acme/pdf-tools` (or `@acme/pdf-tools`) asks for `?ownerHandle=acme`
and the slug `pdf-tools`: the skill `acme/pdf-tools` here, and back the same way, so
the mapping round-trips with nothing encoded. A bare slug names the one visible skill
of that name in any namespace; when several namespaces have one, the answer is the
CLI's `AMBIGUOUS_SKILL_SLUG` error listing each `owner/slug` to use instead.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re

from skreg_common.errors import BadRequest, Conflict, NotFound
from skreg_proto.bundle import Bundle
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.clawhub.archive import build_zip
from skreg_catalog.clawhub.convert import to_skill_info, to_version_item
from skreg_catalog.clawhub.fingerprint import version_fingerprint
from skreg_catalog.clawhub.shapes import (
    Ambiguous,
    AmbiguousMatch,
    LatestVersion,
    Owner,
    ResolvedVersion,
    ResolveResponse,
    SkillRef,
    SkillResponse,
    VersionDetail,
    VersionFile,
    VersionList,
    VersionResponse,
    millis,
)
from skreg_catalog.context import CatalogContext
from skreg_catalog.skills.models import PUBLIC_VERSION, Namespace, Skill, Version
from skreg_catalog.skills.service import HAS_PUBLIC_VERSION, LATEST, SkillService
from skreg_catalog.visibility import Sight, visible_to

# A slug or handle is one of our names: anything else names nothing (404, not a query).
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_AMBIGUOUS = 20
# Zipping is CPU work; past this many unpacked bytes it moves off the event loop.
INLINE_ZIP_BYTES = 256 * 1024


class AmbiguousSlug(Conflict):
    """A bare slug that several namespaces use; the body is the CLI's structured error."""

    def __init__(self, body: Ambiguous) -> None:
        super().__init__(body.message)
        self.body = body


def not_found(slug: str, owner: str | None) -> NotFound:
    """The CLI rewrites exactly 'Skill not found' into its own wording; ours names the skill."""
    shown = f"{owner}/{slug}" if owner else slug
    return NotFound(f"Skill not found: {shown}")


def sha256_or_400(value: str, field: str) -> str:
    """A lowercase sha256 hex digest, or 400."""
    if not _SHA256.fullmatch(value):
        raise BadRequest(f"{field} must be a sha256 digest: 64 lowercase hex characters")
    return value


def content_type(path: str) -> str:
    """A file's media type by its name, as the CLI's own `mime` lookup would give it."""
    return mimetypes.guess_type(path, strict=False)[0] or "application/octet-stream"


class ClawHubReads:
    """ClawHub's read endpoints over the catalog's tables and bundles."""

    def __init__(self, session: AsyncSession, catalog: CatalogContext, sight: Sight) -> None:
        self.session = session
        self.catalog = catalog
        self.sight = sight
        self.skills = SkillService(session, catalog)

    async def find(self, slug: str, owner: str | None) -> Skill:
        """The visible skill `owner/slug`, or the only one named `slug` when no owner."""
        owner = owner.strip().lstrip("@").lower() if owner else None
        if not _NAME.fullmatch(slug) or (owner is not None and not _NAME.fullmatch(owner)):
            raise not_found(slug, owner)
        # Only skills the caller may see: a hidden one neither matches nor makes a
        # slug ambiguous (`skreg_catalog.visibility`).
        query = select(Skill).where(
            Skill.name == slug,
            Skill.deleted_at.is_(None),
            HAS_PUBLIC_VERSION,
            visible_to(self.sight.shape),
        )
        if owner is not None:
            query = query.where(Skill.namespace == owner)
        ordered = query.order_by(Skill.namespace).limit(MAX_AMBIGUOUS)
        found = list((await self.session.execute(ordered, self.sight.params())).scalars().all())
        if not found:
            raise not_found(slug, owner)
        if len(found) > 1:
            raise AmbiguousSlug(_ambiguous(slug, found))
        return found[0]

    async def _count_versions(self, skill: Skill) -> int:
        query = select(func.count(Version.id)).where(
            Version.skill_id == skill.id, Version.deleted_at.is_(None), PUBLIC_VERSION
        )
        return int((await self.session.execute(query)).scalar_one())

    async def _latest(self, skill: Skill) -> Version | None:
        if skill.latest_version_id is None:
            return None
        return await self.session.get(Version, skill.latest_version_id)

    async def skill(self, slug: str, owner: str | None) -> SkillResponse:
        """`GET api/v1/skills/{slug}`."""
        skill = await self.find(slug, owner)
        latest = await self._latest(skill)
        return SkillResponse(
            skill=to_skill_info(skill, await self._count_versions(skill)),
            latest_version=None
            if latest is None
            else LatestVersion(version=latest.version, created_at=millis(latest.published_at)),
            owner=Owner(handle=skill.namespace, display_name=await self._owner_name(skill)),
        )

    async def _owner_name(self, skill: Skill) -> str | None:
        namespace = await self.session.get(Namespace, skill.namespace_id)
        return namespace.owner_name if namespace is not None else None

    async def versions(
        self, slug: str, owner: str | None, cursor: str | None, limit: int | None
    ) -> VersionList:
        """`GET api/v1/skills/{slug}/versions`: newest first, our cursors."""
        skill = await self.find(slug, owner)
        page = await self.skills.list_versions(skill.namespace, skill.name, cursor, limit)
        return VersionList(
            items=[to_version_item(item) for item in page.items], next_cursor=page.next_cursor
        )

    async def version(
        self, slug: str, owner: str | None, version: str | None, tag: str | None = None
    ) -> tuple[Skill, Version]:
        """One version by number, or by tag (`latest`, the only dist-tag here)."""
        skill = await self.find(slug, owner)
        if tag is not None and tag != LATEST:
            raise NotFound(f"Unknown tag {tag!r}: this registry has only 'latest'")
        wanted = version or LATEST
        if len(wanted) > 128:
            raise NotFound(f"Version not found: {wanted[:128]}…")
        return await self.skills.resolve(skill.namespace, skill.name, wanted)

    async def version_detail(self, slug: str, owner: str | None, version: str) -> VersionResponse:
        """`GET api/v1/skills/{slug}/versions/{version}`: the version and its files."""
        skill, found = await self.version(slug, owner, version)
        item = to_version_item(found)
        files = [
            VersionFile(
                path=entry["path"],
                size=entry["size"],
                sha256=entry["sha256"],
                content_type=content_type(entry["path"]),
            )
            for entry in found.manifest
        ]
        return VersionResponse(
            version=VersionDetail(
                version=item.version,
                created_at=item.created_at,
                changelog=item.changelog,
                files=files,
            ),
            skill=SkillRef(slug=skill.name, display_name=skill.name),
        )

    async def bundle(self, version: Version) -> Bundle:
        """The parsed bundle of a version (cached by digest)."""
        return await self.skills.bundle(version.digest)

    async def zip_bytes(self, version: Version) -> bytes:
        """The version's files as the deterministic ZIP the CLI installs from."""
        bundle = await self.bundle(version)
        if bundle.total_size > INLINE_ZIP_BYTES:
            return await asyncio.to_thread(build_zip, bundle.files, bundle.manifest)
        return build_zip(bundle.files, bundle.manifest)

    async def resolve(self, slug: str, owner: str | None, hash_: str) -> ResolveResponse:
        """`GET api/v1/resolve`: which version has exactly the files the CLI fingerprinted."""
        wanted = sha256_or_400(hash_.lower(), "hash")
        skill = await self.find(slug, owner)
        rows = (
            await self.session.execute(
                select(Version.version, Version.digest, Version.manifest).where(
                    Version.skill_id == skill.id,
                    Version.deleted_at.is_(None),
                    Version.purged_at.is_(None),
                    PUBLIC_VERSION,
                )
            )
        ).all()
        matches = [row for row in rows if version_fingerprint(row.digest, row.manifest) == wanted]
        match = None
        if matches:  # identical content published twice: the current latest, else any
            chosen = next((r for r in matches if r.version == skill.latest_version), matches[0])
            match = ResolvedVersion(version=chosen.version)
        latest = ResolvedVersion(version=skill.latest_version) if skill.latest_version else None
        return ResolveResponse(match=match, latest_version=latest)


def _ambiguous(slug: str, found: list[Skill]) -> Ambiguous:
    matches = [
        AmbiguousMatch(
            owner_handle=skill.namespace,
            slug=skill.name,
            ref=f"{skill.namespace}/{skill.name}",
            url=f"/skills/{skill.namespace}/{skill.name}",
        )
        for skill in found
    ]
    return Ambiguous(
        message=f"Several namespaces have a skill named {slug!r}; name one as <owner>/{slug}.",
        matches=matches,
    )
