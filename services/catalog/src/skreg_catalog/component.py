"""The catalog as a `ServiceComponent`: mounted alone (`python -m skreg_catalog`) or all-in-one."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import structlog
from litestar import Request, Router
from litestar.di import Provide
from skreg_common.app import ServiceComponent
from skreg_common.hooks import refuse_nul
from skreg_common.runtime import Runtime

from skreg_catalog.broadcast import WriteBroadcast
from skreg_catalog.clawhub.routes import DISCOVERY_HANDLERS, clawhub_router
from skreg_catalog.context import CatalogContext
from skreg_catalog.mcp.mount import McpEndpoint, mcp_endpoint
from skreg_catalog.namespaces.routes import HANDLERS as NAMESPACE_HANDLERS
from skreg_catalog.publishing.routes import HANDLERS as PUBLISH_HANDLERS
from skreg_catalog.review.routes import HANDLERS as REVIEW_HANDLERS
from skreg_catalog.scanning import warm_up
from skreg_catalog.scanning.pool import start_workers
from skreg_catalog.search.resident import configure as configure_resident
from skreg_catalog.search.routes import HANDLERS as SEARCH_HANDLERS
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.signing.routes import HANDLERS as SIGNING_HANDLERS
from skreg_catalog.signing.service import ensure_registered
from skreg_catalog.skills.routes import HANDLERS as SKILL_HANDLERS
from skreg_catalog.visibility import Sight, sight_for
from skreg_catalog.wellknown.routes import HANDLERS as WELLKNOWN_HANDLERS
from skreg_catalog.writer import CatalogWriter

log = structlog.get_logger(__name__)


def component(settings: CatalogSettings, context: CatalogContext | None = None) -> ServiceComponent:
    """The catalog's routes, with its context provided to them as the `catalog` dependency
    and its one write path (`skreg_catalog.writer`) as the `writer` dependency."""
    catalog = context or CatalogContext.create(settings)

    def provide_catalog() -> CatalogContext:
        return catalog

    def provide_writer(request: Request[Any, Any, Any]) -> CatalogWriter:
        return catalog.writer(request.app.state.runtime)

    async def provide_sight(request: Request[Any, Any, Any]) -> Sight:
        return await sight_for(request, catalog)

    router = Router(
        path="/",
        route_handlers=[
            *SEARCH_HANDLERS,
            *PUBLISH_HANDLERS,
            *SKILL_HANDLERS,
            *REVIEW_HANDLERS,
            *NAMESPACE_HANDLERS,
            *WELLKNOWN_HANDLERS,
            *SIGNING_HANDLERS,
            *DISCOVERY_HANDLERS,
            clawhub_router(catalog),
        ],
        dependencies={
            "catalog": Provide(provide_catalog, use_cache=True, sync_to_thread=False),
            "writer": Provide(provide_writer, sync_to_thread=False),
            # What the caller may see (`skreg_catalog.visibility`).
            "sight": Provide(provide_sight),
        },
        before_request=refuse_nul,
    )

    async def start_broadcast(runtime: Runtime) -> None:
        # Replicas drop their read caches when another one writes (skreg_catalog.broadcast).
        catalog.broadcast = WriteBroadcast(runtime.redis, catalog.other_replica_wrote)
        await catalog.broadcast.start()

    async def stop_broadcast(_runtime: Runtime) -> None:
        if catalog.broadcast is not None:
            await catalog.broadcast.stop()

    async def start_refreshing(runtime: Runtime) -> None:
        # How many postings searches keep in memory (skreg_catalog.search.resident).
        configure_resident(runtime.quick, catalog.settings.search_resident_postings)
        # Renders bodies stored by an older renderer (or never stored) in the background.
        catalog.bodies.start(
            lambda: catalog.reading(runtime), lambda: catalog.writer(runtime).transaction()
        )
        # Embeds skills without a current vector, then after every commit.
        catalog.semantic.start(
            lambda: catalog.reading(runtime), lambda: catalog.writer(runtime).transaction()
        )

    async def start_signing(runtime: Runtime) -> None:
        # The key is published before the first request; versions from before signing
        # are signed in the background (and on the spot if a client asks first).
        def writing() -> Any:
            return catalog.writer(runtime).transaction()

        await ensure_registered(catalog.signer, writing)
        catalog.unsigned.start(catalog.signer, writing)

    async def stop_rendering(_runtime: Runtime) -> None:
        await catalog.unsigned.stop()
        await catalog.bodies.stop()
        await catalog.semantic.stop()
        catalog.renderer.close()

    warming: list[asyncio.Task[None]] = []

    async def start_warming_scanner(_runtime: Runtime) -> None:
        # Compiling the rules costs about a second: paid here, in the background, not by
        # the first publish. Start-up does not wait; a failure is logged and the first
        # scan then loads the rules itself (or fails as ScanFailed, never as clean).
        if catalog.settings.scan_workers > 0:
            start_workers(catalog.settings.scan_workers)  # each compiles them as it starts
        else:
            warming.append(asyncio.create_task(_warm_scanner()))

    async def stop_warming_scanner(_runtime: Runtime) -> None:
        for task in warming:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    mcp = McpEndpoint(catalog)
    return ServiceComponent(
        name="catalog",
        route_handlers=[router, mcp_endpoint(mcp)],
        on_startup=[
            start_broadcast,
            freeze_heap,
            start_refreshing,
            start_signing,
            start_warming_scanner,
        ],
        on_shutdown=[stop_rendering, stop_broadcast, stop_warming_scanner],
        lifespans=[mcp.running],
    )


async def _warm_scanner() -> None:
    try:
        await asyncio.to_thread(warm_up)
    except Exception:
        log.exception("scanner.warm_up_failed")


async def freeze_heap(_runtime: Runtime) -> None:
    """Move everything allocated during start-up out of the garbage collector's sight.

    Modules, routes and engines live for the whole process; without this, each
    full collection walks them all again, stalling every request for tens of ms
    (it showed as the p99 of cached reads in bench/bench_catalog.py).
    """
    gc.collect()
    gc.freeze()
