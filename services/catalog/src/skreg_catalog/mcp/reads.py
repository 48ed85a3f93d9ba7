"""What the MCP surface reads, through the very functions and cache keys the HTTP API uses.

Sharing `search_skills`, `read_detail`, `locate_cached` and `SkillService.bundle` (and
their cache keys) means MCP sees exactly what `GET /api/v1/...` shows: deleted skills
are not found, `latest` never resolves to a yanked version, an exact yanked version is
still readable; and any visibility rule added to those paths applies here too.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from skreg_common.runtime import Runtime
from skreg_proto.bundle import Bundle
from skreg_proto.catalog import SearchPage, SkillDetail

from skreg_catalog.context import CatalogContext
from skreg_catalog.search.service import SearchQuery, search_skills
from skreg_catalog.skills.hot import locate_cached, read_detail
from skreg_catalog.skills.service import Located, SkillService
from skreg_catalog.visibility import NOBODY, Sight, check_visible

# The sight of the MCP request being answered, set by the endpoint before the MCP
# server runs (its tasks inherit it). Nobody's by default: fails closed.
REQUEST_SIGHT: ContextVar[Sight] = ContextVar("mcp_request_sight", default=NOBODY)


@dataclass(frozen=True)
class CatalogReads:
    """The catalog's read paths for one running app."""

    catalog: CatalogContext
    runtime: Runtime

    async def search(self, query: SearchQuery) -> SearchPage:
        """One page of search results (`GET /api/v1/skills`)."""
        sight = REQUEST_SIGHT.get()
        key = ("search", sight.cache_key, query.q, query.tag, query.namespace, query.sort,
               query.cursor, query.limit)  # fmt: skip
        return await self.catalog.reads.get_or_load(
            key, lambda: search_skills(self.runtime.quick, query, sight, self.catalog.semantic)
        )

    async def detail(self, namespace: str, name: str) -> SkillDetail:
        """The skill with its latest version (`GET /api/v1/skills/{ns}/{name}`)."""
        await self._visible(namespace, name)
        return await self.catalog.reads.get_or_load(
            ("skill", namespace, name), lambda: read_detail(self.runtime.quick, namespace, name)
        )

    async def locate(self, namespace: str, name: str, version: str) -> Located:
        """Where a version's bytes are (`latest` allowed), as downloads find it."""
        await self._visible(namespace, name)
        return await locate_cached(self.catalog, self.runtime.quick, namespace, name, version)

    async def _visible(self, namespace: str, name: str) -> None:
        sight = REQUEST_SIGHT.get()
        await check_visible(self.catalog, self.runtime.quick, sight, namespace, name)

    async def bundle(self, found: Located) -> Bundle:
        """The parsed bundle of a located version (kept in the catalog's bundle cache)."""
        cached = self.catalog.bundles.get(found.digest)
        if cached is not None:
            return cached
        async with self.catalog.reading(self.runtime) as session:
            return await SkillService(session, self.catalog).bundle(found.digest)
