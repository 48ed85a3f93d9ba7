"""The slow path past the public reads, for those who may see a withheld version.

Each function is called only after a public read raised `NotFound` (`missing`), and
re-raises it unchanged unless the request's principal may see the version: to
everyone else a withheld version answers exactly as a missing one. Nothing here is
cached (the public caches are shared by every caller).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from skreg_common.errors import NotFound
from skreg_proto.catalog import SkillDetail, VersionDetail

from skreg_catalog.context import CatalogContext
from skreg_catalog.rendering.models import RenderedBody
from skreg_catalog.rendering.stored import stored_rendering
from skreg_catalog.review.visibility import manages_skill, viewer, withheld_version
from skreg_catalog.skills.convert import to_version_detail
from skreg_catalog.skills.hot import read_detail
from skreg_catalog.skills.service import LATEST, Located


async def withheld_located(
    request: Request[Any, Any, Any],
    catalog: CatalogContext,
    namespace: str,
    name: str,
    version: str,
    missing: NotFound,
) -> Located:
    """Where a withheld version's bytes are, for a caller who may see it; else `missing`."""
    skill, found = await _withheld(request, catalog, namespace, name, version, missing)
    return Located(
        namespace=skill.namespace,
        name=skill.name,
        version=found.version,
        version_id=found.id,
        skill_id=skill.id,
        digest=found.digest,
        files={entry["path"]: entry["sha256"] for entry in found.manifest},
    )


async def withheld_detail(
    request: Request[Any, Any, Any],
    catalog: CatalogContext,
    namespace: str,
    name: str,
    version: str,
    missing: NotFound,
) -> VersionDetail:
    """A withheld version's document, for a caller who may see it; else `missing`."""
    skill, found = await _withheld(request, catalog, namespace, name, version, missing)
    async with catalog.reading(request.app.state.runtime) as session:
        rendered = stored_rendering(await session.get(RenderedBody, found.id))
    if rendered is None:
        rendered = await catalog.renderer.markdown(found.digest, found.body)
    return to_version_detail(skill, found, rendered)


async def withheld_skill(
    request: Request[Any, Any, Any],
    catalog: CatalogContext,
    namespace: str,
    name: str,
    missing: NotFound,
) -> SkillDetail:
    """A skill that has only withheld versions, for a caller who manages it; else `missing`."""
    if not await may_list_withheld(request, catalog, namespace):
        raise missing
    return await read_detail(request.app.state.runtime.quick, namespace, name, with_withheld=True)


async def may_list_withheld(
    request: Request[Any, Any, Any], catalog: CatalogContext, namespace: str
) -> bool:
    """Whether the caller may see the withheld versions of skills in `namespace`."""
    principal = await viewer(request)
    if principal is None:
        return False
    async with catalog.reading(request.app.state.runtime) as session:
        return await manages_skill(session, principal, namespace)


async def _withheld(
    request: Request[Any, Any, Any],
    catalog: CatalogContext,
    namespace: str,
    name: str,
    version: str,
    missing: NotFound,
) -> Any:
    principal = await viewer(request)
    if principal is None or version == LATEST:  # latest is never withheld
        raise missing
    async with catalog.reading(request.app.state.runtime) as session:
        found = await withheld_version(session, principal, namespace, name, version)
        if found is None:
            raise missing
        session.expunge_all()  # plain objects past the session
    return found
