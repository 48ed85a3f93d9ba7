"""The discovery index (`/.well-known/agent-skills/index.json`, whole registry or per
namespace under `/ns/<namespace>`) and the archives it names.

The legacy `/.well-known/skills/index.json` serves the same document: the `skills`
CLI still tries that path after `agent-skills`, and accepts a 0.2.0 index there.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from litestar import MediaType, Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath
from skreg_common.errors import NotFound
from skreg_common.openapi import raw_bodies

from skreg_catalog.context import CatalogContext
from skreg_catalog.downloads.visits import download_visit
from skreg_catalog.etags import REVALIDATE, cached_by_etag, etag_matches
from skreg_catalog.skills.hot import locate_cached
from skreg_catalog.skills.service import Located, SkillService
from skreg_catalog.visibility import (
    EVERYONE,
    NOBODY,
    require_visible,
    shared_caching,
    sight_for,
)
from skreg_catalog.wellknown.archive import Archive
from skreg_catalog.wellknown.service import DiscoveryIndex, IndexDocument, IndexService

NAMESPACE_BASE = "/ns/{namespace:str}"
INDEX_PATHS = ("/.well-known/agent-skills/index.json", "/.well-known/skills/index.json")
ARCHIVE = NAMESPACE_BASE + "/.well-known/agent-skills/{name:str}/{archive:str}"
ZIP = ".zip"


async def _index(
    request: Request[Any, Any, Any], catalog: CatalogContext, namespace: str | None
) -> Response[DiscoveryIndex]:
    sight = await sight_for(request, catalog)

    async def load(session: Any) -> IndexDocument:
        return await IndexService(session, catalog.archives).build(namespace, sight)

    document = await catalog.read(
        request,
        ("wellknown-index", sight.cache_key, namespace),
        load,
        weigh=lambda doc: len(doc.body),
    )
    # What anonymous callers see may sit in shared caches; anyone else's index may not.
    shared = sight in (EVERYONE, NOBODY)
    policy = REVALIDATE if shared else REVALIDATE.replace("public", "private")
    headers = {"ETag": document.etag, "Cache-Control": policy}
    if etag_matches(request.headers.get("if-none-match"), document.etag):
        return cast("Response[DiscoveryIndex]", Response(b"", status_code=304, headers=headers))
    # Already JSON: Litestar sends bytes as they are; the annotation documents the schema.
    content = cast(DiscoveryIndex, document.body)
    return Response(content, media_type=MediaType.JSON, headers=headers)


@get(
    list(INDEX_PATHS),
    summary="Agent Skills discovery index of the whole registry",
    tags=["well-known"],
)
async def get_registry_index(
    request: Request[Any, Any, Any], catalog: NamedDependency[CatalogContext]
) -> Response[DiscoveryIndex]:
    """Every skill's latest version (discovery schema 0.2.0), for `npx skills add <registry>`.

    A name held in several namespaces is listed as `<namespace>-<name>`; at most 1000
    skills, in name order. `ETag` + `If-None-Match` give 304s.
    """
    return await _index(request, catalog, None)


@get(
    [NAMESPACE_BASE + path for path in INDEX_PATHS],
    summary="Agent Skills discovery index of one namespace",
    tags=["well-known"],
)
async def get_namespace_index(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    catalog: NamedDependency[CatalogContext],
) -> Response[DiscoveryIndex]:
    """The namespace's skills, for `npx skills add <registry>/ns/<namespace>`; 404 if unknown."""
    return await _index(request, catalog, namespace)


@get(
    ARCHIVE,
    summary="One version as the archive the discovery index names",
    tags=["well-known"],
    operation_class=raw_bodies(response=["application/zip"]),
)
async def get_archive(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    archive: FromPath[str],
    catalog: NamedDependency[CatalogContext],
) -> Response[bytes]:
    """`<version>.zip`: the version's files at the archive root; immutable, `ETag` = its digest."""
    version = archive.removesuffix(ZIP)
    if not archive.endswith(ZIP) or not version:
        raise NotFound(f"no archive {archive!r}: archives are named <version>.zip")
    runtime = request.app.state.runtime
    gate = await require_visible(request, catalog, namespace, name)
    found = await locate_cached(catalog, runtime.quick, namespace, name, version)
    packed = await _archive_of(request, catalog, found)
    headers, unchanged = cached_by_etag(
        request, version, packed.digest, shared=shared_caching(gate, catalog)
    )
    if unchanged is not None:
        return unchanged
    headers["Content-Disposition"] = f'attachment; filename="{name}-{found.version}.zip"'
    return Response(
        packed.data,
        media_type="application/zip",
        headers=headers,
        background=_count_download(request, catalog, found),
    )


async def _archive_of(
    request: Request[Any, Any, Any], catalog: CatalogContext, found: Located
) -> Archive:
    cached = catalog.archives.archive(found.digest)
    if cached is not None:
        return cached
    async with catalog.reading(request.app.state.runtime) as session:
        bundle = await SkillService(session, catalog).bundle(found.digest)
    return await asyncio.to_thread(catalog.archives.pack, bundle)


def _count_download(
    request: Request[Any, Any, Any], catalog: CatalogContext, found: Located
) -> BackgroundTask | None:
    """An install through the index counts as a download, as the bundle download does."""
    visit = download_visit(request, catalog)
    if visit.known(found.version_id):
        return None
    # `count` decides atomically whether this client was counted today already.
    return visit.count_later(found.version_id, found.skill_id)


HANDLERS = [get_registry_index, get_namespace_index, get_archive]
