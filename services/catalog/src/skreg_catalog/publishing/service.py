"""Publishing versions: by users (strict, with permissions) and by the importer (lenient).

One transaction per publish (the catalog writer's, `skreg_catalog.writer`): the
namespace, the skill, the blob and the version are written together or not at all.
Concurrent publishers are handled with atomic inserts (`ON CONFLICT DO NOTHING`) and
a lock on the skill row, never with check-then-insert races.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from skreg_common.db import insert_for, utcnow
from skreg_common.errors import Conflict, Forbidden
from skreg_common.principal import Principal, org_role_at_least
from skreg_proto.catalog import PublishResponse
from skreg_proto.internal import Provenance, TrustedPublisherProvenance
from skreg_proto.problems import FieldProblem
from skreg_proto.semver import is_prerelease
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.context import CatalogContext
from skreg_catalog.publishing.limits import check_quota
from skreg_catalog.publishing.validate import CheckedSkill
from skreg_catalog.rendering.stored import store_renderings, to_store
from skreg_catalog.review.service import record_withheld, trust_values
from skreg_catalog.signing.service import sign_version
from skreg_catalog.skills.convert import version_fields
from skreg_catalog.skills.models import Namespace, Skill, Version
from skreg_catalog.skills.state import add_published, can_manage, clean_tags, refresh_skill

log = structlog.get_logger(__name__)

# What purging empties on a version row (the purge command and restore_purged agree on it).
PURGED_FIELDS = ("body", "frontmatter", "manifest")


@dataclass
class Written:
    """What a publish did: the version (new or existing) and whether anything was created."""

    skill: Skill
    version: Version
    created: bool
    new_skill: bool


@dataclass(frozen=True)
class Origin:
    """Who published, and for imports where from and with which warnings."""

    publisher_id: str | None
    publisher_name: str | None
    provenance: Provenance | None = None
    warnings: tuple[FieldProblem, ...] = ()


def _not_yours(name: str, principal: Principal) -> Forbidden:
    """The one refusal for a namespace the caller may not publish to, whether it exists
    (perhaps holding private skills) or not: the answer is no existence oracle."""
    return Forbidden(
        f"you may publish only to your own namespace '{principal.username}' and your "
        f"organizations' namespaces, not to '{name}'"
    )


class PublishService:
    """Writes new versions; the bundle was checked before the transaction opened."""

    def __init__(self, session: AsyncSession, catalog: CatalogContext) -> None:
        self.session = session
        self.catalog = catalog

    # --- users -----------------------------------------------------------------

    async def publish(
        self,
        checked: CheckedSkill,
        principal: Principal,
        *,
        dry_run: bool,
        visibility: str | None = None,
    ) -> PublishResponse:
        """Publish for a user: 201 new, 200 identical retry, 409 same version other content.

        `visibility` sets who may see the skill; without it a new skill takes its
        namespace's default and an existing one keeps its own.
        """
        assert checked.version is not None  # strict publishing always resolves a version
        if not principal.may_use_namespace(checked.namespace):
            raise Forbidden(
                f"this token may publish only to {', '.join(principal.namespaces or ())}, "
                f"not to '{checked.namespace}'"
            )
        namespace = await self._user_namespace(checked.namespace, principal, create=not dry_run)
        origin = Origin(
            publisher_id=principal.id,
            publisher_name=principal.username,
            provenance=ci_provenance(principal),
        )
        if dry_run:
            return await self._dry_run(checked, namespace, origin)
        assert namespace is not None
        skill, new_skill = await self._skill(namespace, checked.document.name)
        if visibility is not None:
            skill.visibility = visibility
        elif new_skill:
            skill.visibility = namespace.default_visibility
        if skill.deleted_at is not None:
            # The name stays reserved for its owners; publishing brings the skill back
            # with only new (or identical) versions: deleted ones never return changed.
            skill.deleted_at = None
        written = await self._write(skill, new_skill, checked, str(checked.version), origin)
        if not written.created and written.version.digest != checked.bundle.digest:
            raise Conflict(
                f"{skill.namespace}/{skill.name}@{written.version.version} exists with "
                f"different content ({written.version.digest}); versions are immutable"
            )
        return PublishResponse(
            **version_fields(written.skill, written.version), created=written.created
        )

    async def _user_namespace(
        self, name: str, principal: Principal, *, create: bool
    ) -> Namespace | None:
        namespace = await self._find_namespace(name)
        if namespace is not None:
            if not can_manage(namespace, principal):
                raise _not_yours(name, principal)
            if namespace.owner_name is None and namespace.owner_id == principal.id:
                # Made by an import, which knows only the owner's id: learn the name.
                namespace.owner_name = principal.username
            return namespace
        if not principal.may_use_namespace(name):
            raise Forbidden(f"this key is limited to other namespaces than '{name}'")
        if org_role_at_least(principal.org_role(name), "publisher"):
            # An organization's own namespace bears its name, made on its first publish.
            return await self._ensure_namespace(name, None, None, org=name) if create else None
        if name != principal.username and not principal.is_admin:
            raise _not_yours(name, principal)
        if not create:
            return None
        return await self._ensure_namespace(name, principal.id, principal.username)

    async def _dry_run(
        self, checked: CheckedSkill, namespace: Namespace | None, origin: Origin
    ) -> PublishResponse:
        text = str(checked.version)
        if namespace is not None:
            existing = (
                await self.session.execute(
                    select(Version.digest)
                    .join(Skill, Skill.id == Version.skill_id)
                    .where(
                        Skill.namespace_id == namespace.id,
                        Skill.name == checked.document.name,
                        Version.version == text,
                    )
                )
            ).scalar_one_or_none()
            if existing is not None and existing != checked.bundle.digest:
                raise Conflict(
                    f"{namespace.name}/{checked.document.name}@{text} exists with "
                    f"different content ({existing}); versions are immutable"
                )
        skill = Skill(namespace=checked.namespace, name=checked.document.name)
        version = Version(**version_values(checked, text, origin), downloads=0)
        return PublishResponse(**version_fields(skill, version), dry_run=True)

    # --- shared ----------------------------------------------------------------

    async def _find_namespace(self, name: str) -> Namespace | None:
        query = select(Namespace).where(Namespace.name == name)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def _ensure_namespace(
        self, name: str, owner_id: str | None, owner_name: str | None, org: str | None = None
    ) -> Namespace:
        """The namespace, created for its owner if new (racing creators both succeed)."""
        insert = insert_for(self.session)
        await self.session.execute(
            insert(Namespace)
            .values(
                name=name, owner_id=owner_id, owner_name=owner_name, org=org, created_at=utcnow()
            )
            .on_conflict_do_nothing(index_elements=[Namespace.name])
        )
        namespace = await self._find_namespace(name)
        assert namespace is not None
        return namespace

    async def _skill(self, namespace: Namespace, name: str) -> tuple[Skill, bool]:
        """The skill (created if new), locked so its versions change one publish at a time."""
        skill = await self._locked_skill(namespace, name)
        if skill is not None:
            return skill, False
        now = utcnow()
        insert = insert_for(self.session)
        created = (
            await self.session.execute(
                insert(Skill)
                .values(
                    namespace_id=namespace.id,
                    namespace=namespace.name,
                    name=name,
                    description="",
                    tags=[],
                    downloads=0,
                    created_at=now,
                    updated_at=now,
                    deprecated=False,
                )
                .on_conflict_do_nothing(index_elements=[Skill.namespace_id, Skill.name])
                .returning(Skill.id)
            )
        ).scalar_one_or_none()
        skill = await self._locked_skill(namespace, name)  # ours, or a racing creator's
        assert skill is not None
        return skill, created is not None

    async def _locked_skill(self, namespace: Namespace, name: str) -> Skill | None:
        query = (
            select(Skill)
            .where(Skill.namespace_id == namespace.id, Skill.name == name)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def _existing(self, skill: Skill, text: str) -> Version | None:
        query = select(Version).where(Version.skill_id == skill.id, Version.version == text)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def _write(
        self, skill: Skill, new_skill: bool, checked: CheckedSkill, text: str, origin: Origin
    ) -> Written:
        """Insert the version unless `name@version` exists; returns the existing one if so.

        Inserts first and looks only on a conflict: a new version (the common case)
        costs one statement, and a racing publisher of the same version cannot slip
        in between a look and an insert. The blob goes in first (foreign key); for a
        conflicting version the transaction rolls back, so no orphan is left.
        """
        await self.catalog.blobs.put(self.session, checked.bundle.digest, checked.data)
        insert = insert_for(self.session)
        version = (
            await self.session.execute(
                insert(Version)
                .values(skill_id=skill.id, downloads=0, **version_values(checked, text, origin))
                .on_conflict_do_nothing(index_elements=[Version.skill_id, Version.version])
                .returning(Version)
            )
        ).scalar_one_or_none()
        if version is not None:
            await self._store_rendering(skill, version, checked)
            await check_quota(self.session, self.catalog.settings, skill)
            if version.withheld:
                # Absent for everyone else: neither latest nor "recently updated".
                await record_withheld(self.session, version, origin.publisher_name)
            else:
                skill.updated_at = utcnow()
                await add_published(self.session, skill, version)
            # Signed in the same transaction: no version is ever stored unsigned (a
            # withheld one too: its publisher and admins install it, verified).
            await sign_version(
                self.session, self.catalog.signer, skill.namespace, skill.name, version
            )
            log.info(
                "skill.published",
                skill=f"{skill.namespace}/{skill.name}",
                version=text,
                digest=checked.bundle.digest,
                publisher=origin.publisher_name,
                imported=origin.provenance is not None,
            )
            return Written(skill, version, created=True, new_skill=new_skill)
        existing = await self._existing(skill, text)
        assert existing is not None
        if existing.deleted_at is not None and existing.digest == checked.bundle.digest:
            existing.deleted_at = None  # re-publishing the identical content restores it
            if existing.purged_at is not None:
                restore_purged(existing, checked, text, origin)
                await self._store_rendering(skill, existing, checked, restored=True)
                await check_quota(self.session, self.catalog.settings, skill)
            await refresh_skill(self.session, skill)
        return Written(skill, existing, created=False, new_skill=False)

    async def _store_rendering(
        self, skill: Skill, version: Version, checked: CheckedSkill, *, restored: bool = False
    ) -> None:
        # Rendered before the transaction opened; None: the read path renders it meanwhile.
        if checked.rendered is None:
            return
        if restored:
            # The page is made from the row as the database gives it back (as a read
            # would see it), not from the values just assigned.
            await self.session.flush()
            await self.session.refresh(version)
        stored = to_store(skill.namespace, skill.name, version, checked.rendered)
        await store_renderings(self.session, [stored])


def ci_provenance(principal: Principal) -> Provenance | None:
    """The CI job behind a trusted-publishing token, as the version's provenance."""
    publisher = principal.trusted_publisher
    if publisher is None:
        return None
    return Provenance(
        trusted_publisher=TrustedPublisherProvenance(
            issuer=publisher.issuer, policy_id=publisher.policy_id, claims=dict(publisher.claims)
        )
    )


def restore_purged(version: Version, checked: CheckedSkill, text: str, origin: Origin) -> None:
    """Put back what purging emptied: the same digest is the same content."""
    values = version_values(checked, text, origin)
    for key in PURGED_FIELDS:
        setattr(version, key, values[key])
    version.purged_at = None


def version_values(checked: CheckedSkill, text: str, origin: Origin) -> dict[str, Any]:
    document = checked.document
    bundle = checked.bundle
    provenance = None
    if origin.provenance is not None:
        provenance = msgspec.to_builtins(origin.provenance)
    return {
        "version": text,
        "digest": bundle.digest,
        "prerelease": is_prerelease(text),
        "description": document.description,
        "license": document.license,
        "compatibility": document.compatibility,
        "tags": clean_tags(document.tags),
        "manifest": msgspec.to_builtins(bundle.manifest),
        "frontmatter": msgspec.to_builtins(document.frontmatter),
        "body": document.body,
        "size": bundle.total_size,
        "compressed_size": bundle.compressed_size,
        "published_at": utcnow(),
        "publisher_id": origin.publisher_id,
        "publisher_name": origin.publisher_name,
        "provenance": provenance,
        "warnings": msgspec.to_builtins(list(origin.warnings)),
        "yanked": False,
        "deleted_at": None,
        **trust_values(checked.trust),
    }
