"""The importer as a `ServiceComponent`: alone (`python -m skreg_importer`) or all-in-one."""

from __future__ import annotations

import httpx
from litestar import Router
from litestar.di import Provide
from skreg_common.app import ServiceComponent
from skreg_common.errors import Unavailable
from skreg_common.hooks import refuse_nul
from skreg_common.runtime import Runtime

from skreg_importer.context import ImporterContext, start_importer
from skreg_importer.publisher import CatalogPublisher
from skreg_importer.runs.routes import HANDLERS as RUN_HANDLERS
from skreg_importer.settings import ImporterSettings
from skreg_importer.sources.routes import HANDLERS as SOURCE_HANDLERS


def component(
    settings: ImporterSettings,
    *,
    publisher: CatalogPublisher | None = None,
    catalog_transport: httpx.AsyncBaseTransport | None = None,
) -> ServiceComponent:
    """The importer's routes, with its context provided to them as the `importer` dependency.

    Unlike the catalog's, the context needs the app's database and (with REDIS_URL) a
    queue connection, so it is built at start-up and closed at shut-down (which also
    stops the in-process runner, if any). `publisher` replaces the HTTP catalog
    client; `catalog_transport` keeps the HTTP client but sends it through e.g. an
    in-process ASGI transport (all-in-one).
    """
    started: ImporterContext | None = None

    async def startup(runtime: Runtime) -> None:
        nonlocal started
        started = await start_importer(
            settings, runtime, publisher=publisher, catalog_transport=catalog_transport
        )

    async def shutdown(_runtime: Runtime) -> None:
        nonlocal started
        if started is not None:
            await started.close()
            started = None

    def provide_importer() -> ImporterContext:
        if started is None:
            raise Unavailable("the importer is starting")
        return started

    router = Router(
        path="/",
        route_handlers=[*SOURCE_HANDLERS, *RUN_HANDLERS],
        # Not cached: the context is replaced if the app is started again.
        dependencies={"importer": Provide(provide_importer, sync_to_thread=False)},
        # Source and run ids and filters are bound as text: a NUL is a driver error on
        # PostgreSQL, so it is refused as a 400 before any handler runs.
        before_request=refuse_nul,
    )
    return ServiceComponent(
        name="importer", route_handlers=[router], on_startup=[startup], on_shutdown=[shutdown]
    )
