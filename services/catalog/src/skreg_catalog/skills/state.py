"""Keeping a skill's derived state right: its latest version, tags and search document.

Called after anything that changes which versions are visible (publish, yank,
unyank, delete), inside the same transaction, with the skill row locked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from skreg_common.db import insert_for
from skreg_common.principal import Principal, org_role_at_least
from skreg_proto.semver import Version as SemVer
from skreg_proto.semver import latest, parse_version
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.search.index import DOCUMENT_FIELDS, reindex
from skreg_catalog.search.models import VISIBLE_SKILLS, CatalogCounter, SearchDocument
from skreg_catalog.skills.models import (
    NAME_LENGTH,
    PUBLIC_VERSION,
    Namespace,
    Skill,
    SkillTag,
    Version,
)

MAX_TAGS = 20


def current_version(candidates: Iterable[tuple[str, bool]]) -> SemVer | None:
    """What `latest` resolves to: the highest release that is not yanked.

    A skill with no release at all (only pre-releases, such as the generated
    `0.0.0-git.…` versions of imports) falls back to its highest non-yanked
    pre-release, so it stays installable and findable.
    """
    pairs = [(parse_version(text), yanked) for text, yanked in candidates]
    release = latest(pairs)
    if release is not None:
        return release
    return max((v for v, yanked in pairs if not yanked), default=None)


def newest_first(versions: Sequence[Version]) -> list[Version]:
    """Versions sorted by semver precedence, highest first."""
    return sorted(versions, key=lambda v: parse_version(v.version), reverse=True)


def can_manage(namespace: Namespace, principal: Principal) -> bool:
    """Who publishes, yanks and deletes in a namespace: its owning user, or an owner, admin
    or publisher of its organization; admins everywhere. A key limited to namespaces
    (`acme/*`) manages nothing outside them, whoever holds it."""
    if not principal.may_use_namespace(namespace.name):
        return False
    if principal.is_admin:
        return True
    if principal.kind != "user":
        return False
    if namespace.org is not None:
        return org_role_at_least(principal.org_role(namespace.org), "publisher")
    return namespace.owner_id is not None and namespace.owner_id == principal.id


def can_configure(namespace: Namespace, principal: Principal) -> bool:
    """Who changes a namespace's settings: its owning user, the organization's owners and
    admins, registry admins (within a key's namespace limit)."""
    if not principal.may_use_namespace(namespace.name):
        return False
    if principal.is_admin:
        return True
    if namespace.org is not None:
        return org_role_at_least(principal.org_role(namespace.org), "admin")
    return principal.kind == "user" and namespace.owner_id == principal.id


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags as stored: bounded in number and length, no duplicates, order kept."""
    kept = (tag.strip().lower() for tag in tags)
    unique = dict.fromkeys(tag for tag in kept if tag and len(tag) <= NAME_LENGTH)
    return list(unique)[:MAX_TAGS]


async def _count_visible(session: AsyncSession, delta: int) -> None:
    if delta == 0:
        return
    insert = insert_for(session)
    await session.execute(
        insert(CatalogCounter)
        .values(name=VISIBLE_SKILLS, value=delta)
        .on_conflict_do_update(
            index_elements=[CatalogCounter.name],
            set_={"value": CatalogCounter.__table__.c.value + delta},
        )
    )


async def refresh_skill(session: AsyncSession, skill: Skill) -> None:
    """Recompute latest, copy its description and tags, and update the search document."""
    rows = (
        await session.execute(
            select(Version.id, Version.version, Version.yanked).where(
                # A withheld version is never a candidate: it never becomes latest.
                Version.skill_id == skill.id,
                Version.deleted_at.is_(None),
                PUBLIC_VERSION,
            )
        )
    ).all()
    chosen: Version | None = None
    pick = None if skill.deleted_at is not None else current_version((r[1], r[2]) for r in rows)
    if pick is not None:
        # Compared as versions: precedence ignores build metadata, the text keeps it.
        chosen_id = next(r[0] for r in rows if not r[2] and parse_version(r[1]) == pick)
        chosen = await session.get(Version, chosen_id)
    await _set_latest(session, skill, chosen)


def takes_over(candidate: SemVer, current: SemVer | None) -> bool:
    """Whether a newly published, not yanked `candidate` becomes latest over `current`.

    The same rule as `current_version`, one version at a time: a release beats any
    pre-release and lower releases; a pre-release only beats lower pre-releases
    (it is latest only while the skill has no release). Equal precedence keeps the
    current one, as `refresh_skill` does.
    """
    if current is None:
        return True
    if candidate.is_prerelease:
        return current.is_prerelease and candidate > current
    return current.is_prerelease or candidate > current


async def add_published(session: AsyncSession, skill: Skill, version: Version) -> None:
    """Account for a version just inserted (not yanked) in `skill`, locked by the caller.

    Costs nothing past the comparison when the version does not become latest
    (a backport), and never reads the skill's other versions: with thousands of
    versions (Git imports make one per commit) re-deriving latest on every publish
    grew with the history. A skill without a latest (new, restored, or everything
    yanked) is refreshed in full, since its other versions may count again.
    """
    if skill.latest_version is None or skill.deleted_at is not None:
        await refresh_skill(session, skill)
        return
    if takes_over(parse_version(version.version), parse_version(skill.latest_version)):
        await _set_latest(session, skill, version)


async def _set_latest(session: AsyncSession, skill: Skill, chosen: Version | None) -> None:
    """Point `skill` at `chosen` (None: hidden) and copy what lists and search show from it."""
    was_visible = skill.latest_version_id is not None  # invariant: visible <=> has a latest
    await _count_visible(session, int(chosen is not None) - int(was_visible))
    document = await session.get(SearchDocument, skill.id)
    if chosen is None:
        await session.execute(delete(SkillTag).where(SkillTag.skill_id == skill.id))
        skill.latest_version = None
        skill.latest_version_id = None
        if document is not None:
            await reindex(session, skill.id, _document_fields(document), None)
            await session.delete(document)
        await session.flush()
        return
    tags = list(chosen.tags)
    if not was_visible or list(skill.tags) != tags:
        await session.execute(delete(SkillTag).where(SkillTag.skill_id == skill.id))
        session.add_all(SkillTag(skill_id=skill.id, tag=tag) for tag in tags)
    skill.latest_version = chosen.version
    skill.latest_version_id = chosen.id
    skill.description = chosen.description
    skill.tags = tags
    fields = {
        "namespace": skill.namespace,
        "name": skill.name,
        "tags": " ".join(tags),
        "description": chosen.description,
        "body": chosen.body,
    }
    if document is None:
        await reindex(session, skill.id, None, fields)
        session.add(SearchDocument(skill_id=skill.id, **fields))
    else:
        if _document_fields(document) != fields:
            await reindex(session, skill.id, _document_fields(document), fields)
        for key, value in fields.items():
            setattr(document, key, value)
    await session.flush()


def _document_fields(document: SearchDocument) -> dict[str, str]:
    return {key: getattr(document, key) for key in DOCUMENT_FIELDS}
