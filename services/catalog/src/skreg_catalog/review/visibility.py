"""Who may see a version: the one rule, and the one way past the public reads.

Every public read (lists, search, `latest`, exact versions, files, downloads, the
well-known index, MCP, the ClawHub API) filters on `PUBLIC_VERSION`, so a withheld
version is absent there, in caches shared by every caller too, and answers 404
exactly as a missing one does. Only when a public read found nothing does a
request with a credential take the slow path, `withheld_version`, which asks
`may_see_version` and is never cached.

Skill-level visibility (private or internal skills) composes here: it is another
condition in `may_see_version` and in `PUBLIC_VERSION`'s callers, not a new path.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from skreg_common.principal import Principal, resolve_principal
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.skills.models import PUBLIC_VERSION, Namespace, Skill, Version
from skreg_catalog.skills.state import can_manage

__all__ = ["PUBLIC_VERSION", "may_see_version", "viewer", "withheld_version"]
# Versions of withheld content are shown privately: never cached by a browser or proxy.
PRIVATE_CACHING = "private, no-store"


def may_see_version(withheld: bool, namespace: Namespace | None, principal: Principal) -> bool:
    """Whether `principal` may see a version: everyone sees a public one; a withheld one
    (held, rejected, scan failed) only its namespace's managers and admins."""
    if not withheld:
        return True
    return namespace is not None and can_manage(namespace, principal)


async def viewer(request: Request[Any, Any, Any]) -> Principal | None:
    """The request's principal when it has a credential (None: anonymous, no slow path)."""
    principal = await resolve_principal(request)
    return principal if principal.is_authenticated else None


async def withheld_version(
    session: AsyncSession, principal: Principal, namespace: str, name: str, version: str
) -> tuple[Skill, Version] | None:
    """The withheld version `namespace/name@version` if `principal` may see it, else None."""
    row = (
        await session.execute(
            select(Skill, Version, Namespace)
            .join(Version, Version.skill_id == Skill.id)
            .join(Namespace, Namespace.id == Skill.namespace_id)
            .where(
                Skill.namespace == namespace,
                Skill.name == name,
                Skill.deleted_at.is_(None),
                Version.version == version,
                Version.deleted_at.is_(None),
                Version.withheld.is_(True),
            )
        )
    ).first()
    if row is None or not may_see_version(True, row[2], principal):
        return None
    return row[0], row[1]


async def manages_skill(session: AsyncSession, principal: Principal, namespace: str) -> bool:
    """Whether `principal` may see the withheld versions of skills in `namespace`."""
    found = (
        await session.execute(select(Namespace).where(Namespace.name == namespace))
    ).scalar_one_or_none()
    return may_see_version(True, found, principal)
