"""Changing who owns a namespace, its default visibility, and a skill's visibility."""

from __future__ import annotations

import re

import structlog
from skreg_common.errors import Forbidden, Invalid, NotFound
from skreg_common.principal import Principal
from skreg_proto.catalog import NamespaceOut, NamespaceRights, NamespaceUpdate
from skreg_proto.problems import FieldProblem
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.skills.models import Namespace, Skill
from skreg_catalog.skills.state import can_configure, can_manage

ORG_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{1,38}")

log = structlog.get_logger(__name__)


def to_namespace(namespace: Namespace) -> NamespaceOut:
    """The API shape of a namespace's settings."""
    return NamespaceOut(
        name=namespace.name,
        owner=namespace.owner_name,
        org=namespace.org,
        default_visibility=namespace.default_visibility,  # type: ignore[arg-type]
    )


class NamespaceService:
    """Settings writes, inside the catalog's one write transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _namespace(self, name: str, principal: Principal, *, lock: bool = True) -> Namespace:
        """The namespace, if the caller configures it; else the NotFound of an absent one."""
        query = select(Namespace).where(Namespace.name == name)
        found = await self.session.scalar(query.with_for_update() if lock else query)
        if found is None or not can_configure(found, principal):
            raise NotFound(f"no namespace {name} that you manage")
        return found

    async def read(self, name: str, principal: Principal) -> NamespaceOut:
        """Settings of a namespace the caller configures."""
        return to_namespace(await self._namespace(name, principal, lock=False))

    async def rights(self, name: str, principal: Principal) -> NamespaceRights:
        """What the caller may do in a namespace, by the very rules the writes apply
        (`can_manage`, `can_configure`): the web UI shows its controls by this answer."""
        found = await self.session.scalar(select(Namespace).where(Namespace.name == name))
        if found is None:
            return NamespaceRights(namespace=name, manage=False, configure=False)
        return NamespaceRights(
            namespace=name,
            manage=can_manage(found, principal),
            configure=can_configure(found, principal),
        )

    async def change(self, name: str, data: NamespaceUpdate, principal: Principal) -> NamespaceOut:
        """Set the default visibility; registry admins may also hand it to an organization.

        Handing a namespace to an organization leaves its user owner out: from then on
        the organization's roles decide who publishes and who sees its private skills.
        """
        namespace = await self._namespace(name, principal)
        if data.org is not None:
            if not principal.is_admin:
                raise Forbidden("only registry admins move namespaces to organizations")
            if not ORG_NAME_RE.fullmatch(data.org):
                raise Invalid("not an organization name", errors=[FieldProblem("org", data.org)])
            namespace.org = data.org
            namespace.owner_id = None
            namespace.owner_name = None
        if data.default_visibility is not None:
            namespace.default_visibility = data.default_visibility
        await self.session.flush()
        log.info("namespace.changed", namespace=name, actor=principal.username,
                 org=data.org, default_visibility=data.default_visibility)  # fmt: skip
        return to_namespace(namespace)

    async def set_visibility(
        self, namespace: str, name: str, visibility: str, principal: Principal
    ) -> str:
        """Change one skill's visibility (its managers only)."""
        found = await self.session.execute(
            select(Skill, Namespace)
            .join(Namespace, Namespace.id == Skill.namespace_id)
            .where(Skill.namespace == namespace, Skill.name == name, Skill.deleted_at.is_(None))
        )
        row = found.first()
        if row is None:
            raise NotFound(f"no skill {namespace}/{name}")
        skill, owner = row
        if not can_manage(owner, principal):
            raise Forbidden(f"only the owners of {namespace} or an admin may do this")
        await self.session.execute(
            update(Skill).where(Skill.id == skill.id).values(visibility=visibility)
        )
        log.info("skill.visibility_changed", skill=f"{namespace}/{name}", to=visibility,
                 actor=principal.username)  # fmt: skip
        return visibility


__all__ = ["NamespaceService", "to_namespace"]
