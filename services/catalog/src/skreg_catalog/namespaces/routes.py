"""`/api/v1/namespaces/{namespace}` (settings) and `PATCH /api/v1/skills/{namespace}/{name}`."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from skreg_common.principal import Principal, requires_user
from skreg_proto.catalog import (
    NamespaceOut,
    NamespaceRights,
    NamespaceUpdate,
    SkillDetail,
    SkillUpdate,
)
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.context import CatalogContext
from skreg_catalog.namespaces.service import NamespaceService
from skreg_catalog.skills.hot import read_detail
from skreg_catalog.skills.routes import SKILL, requires_owner_credential
from skreg_catalog.visibility import require_visible
from skreg_catalog.writer import CatalogWriter

NAMESPACE = "/api/v1/namespaces/{namespace:str}"


@get(NAMESPACE, guards=[requires_user()], summary="A namespace's settings", tags=["catalog"])
async def get_namespace(
    namespace: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
) -> NamespaceOut:
    """Owner, organization and default visibility (404 unless you manage it)."""
    return await NamespaceService(db_session).read(namespace, principal)


@get(
    f"{NAMESPACE}/rights",
    guards=[requires_user()],
    summary="What you may do in a namespace",
    tags=["catalog"],
)
async def namespace_rights(
    namespace: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
) -> NamespaceRights:
    """Whether you may manage its skills (publish, yank, delete, visibility) and change its
    settings; both false for a namespace that does not exist, so nothing is revealed."""
    return await NamespaceService(db_session).rights(namespace, principal)


@patch(
    NAMESPACE,
    guards=[requires_owner_credential("publish")],
    summary="Change a namespace's settings",
    tags=["catalog"],
)
async def change_namespace(
    namespace: FromPath[str],
    data: JSONBody[NamespaceUpdate],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> NamespaceOut:
    """The default visibility of skills published without one; admins: the owning org."""
    async with writer.transaction() as session:
        return await NamespaceService(session).change(namespace, data, principal)


@patch(
    SKILL,
    guards=[requires_owner_credential("publish")],
    summary="Change a skill's visibility",
    tags=["catalog"],
)
async def change_skill(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    data: JSONBody[SkillUpdate],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> SkillDetail:
    """Make the skill public, internal or private (its managers only)."""
    await require_visible(request, catalog, namespace, name)
    async with writer.transaction() as session:
        await NamespaceService(session).set_visibility(namespace, name, data.visibility, principal)
    return await read_detail(request.app.state.runtime.quick, namespace, name)


HANDLERS = [get_namespace, namespace_rights, change_namespace, change_skill]
