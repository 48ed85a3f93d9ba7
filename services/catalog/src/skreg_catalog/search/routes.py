"""`GET /api/v1/skills` (search and browse), `GET /api/v1/tags`, `GET /api/v1/stats`."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter
from skreg_proto.catalog import CatalogStats, SearchPage, SearchSort, TagCount
from skreg_proto.pagination import Page

from skreg_catalog.context import CatalogContext
from skreg_catalog.search.service import SearchQuery, SearchService, search_skills
from skreg_catalog.visibility import sight_for


@get("/api/v1/skills", summary="Search and browse skills", tags=["catalog"])
async def list_skills(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    q: str = Parameter(default="", max_length=200),
    tag: str | None = Parameter(default=None, max_length=64),
    namespace: str | None = Parameter(default=None, max_length=64),
    sort: FromQuery[SearchSort] = "relevance",
    cursor: str | None = Parameter(default=None, max_length=2048),
    limit: int | None = Parameter(default=None, ge=1, le=100),
) -> SearchPage:
    """Full text over name, description, tags and body; exact name first; cursor paging."""
    query = SearchQuery(q=q, tag=tag, namespace=namespace, sort=sort, cursor=cursor, limit=limit)
    sight = await sight_for(request, catalog)
    return await catalog.read_quick(
        request,
        ("search", sight.cache_key, q, tag, namespace, sort, cursor, limit),
        lambda quick: search_skills(quick, query, sight, catalog.semantic),
    )


@get("/api/v1/tags", summary="Tags with counts", tags=["catalog"])
async def list_tags(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    cursor: str | None = Parameter(default=None, max_length=2048),
    limit: int | None = Parameter(default=None, ge=1, le=100),
) -> Page[TagCount]:
    """Tags of visible skills, most used first."""
    sight = await sight_for(request, catalog)
    return await catalog.read(
        request,
        ("tags", sight.cache_key, cursor, limit),
        lambda session: SearchService(session, sight).tags(cursor, limit),
    )


@get("/api/v1/stats", summary="Catalog totals and top skills", tags=["catalog"])
async def get_stats(
    request: Request[Any, Any, Any], catalog: NamedDependency[CatalogContext]
) -> CatalogStats:
    """Totals and the most downloaded skills."""
    sight = await sight_for(request, catalog)
    return await catalog.read(
        request, ("stats", sight.cache_key), lambda session: SearchService(session, sight).stats()
    )


HANDLERS = [list_skills, list_tags, get_stats]
