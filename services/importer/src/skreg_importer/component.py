"""The importer as a `ServiceComponent`: alone (`python -m skreg_importer`) or all-in-one."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Request, Router
from litestar.di import Provide
from skreg_common.app import ServiceComponent
from skreg_common.errors import Unavailable
from skreg_common.hooks import refuse_nul
from skreg_common.runtime import Runtime

from skreg_importer.publisher import CatalogPublisher
from skreg_importer.runs.routes import ImportController
from skreg_importer.settings import ImporterSettings
from skreg_importer.sources.routes import SourceController, receive_webhook
from skreg_importer.state import STATE_KEY, ImporterState, start_importer


async def provide_importer(request: Request[Any, Any, Any]) -> ImporterState:
    """The importer state built at start-up."""
    runtime: Runtime = request.app.state.runtime
    state = runtime.extras.get(STATE_KEY)
    if not isinstance(state, ImporterState):
        raise Unavailable("the importer is starting")
    return state


def component(
    settings: ImporterSettings,
    *,
    publisher: CatalogPublisher | None = None,
    catalog_transport: httpx.AsyncBaseTransport | None = None,
) -> ServiceComponent:
    """Routes, plus start-up/shut-down of the queue (and, without Redis, the runner).

    `publisher` replaces the HTTP catalog client; `catalog_transport` keeps the HTTP
    client but sends it through e.g. an in-process ASGI transport (all-in-one).
    """

    async def startup(runtime: Runtime) -> None:
        runtime.extras[STATE_KEY] = await start_importer(
            settings, runtime, publisher=publisher, catalog_transport=catalog_transport
        )

    async def shutdown(runtime: Runtime) -> None:
        state = runtime.extras.pop(STATE_KEY, None)
        if isinstance(state, ImporterState):
            await state.close()

    router = Router(
        path="/",
        route_handlers=[SourceController, ImportController, receive_webhook],
        dependencies={"importer": Provide(provide_importer)},
        # Source and run ids and filters are bound as text: a NUL is a driver error on
        # PostgreSQL, so it is refused as a 400 before any handler runs.
        before_request=refuse_nul,
    )
    return ServiceComponent(
        name="importer", route_handlers=[router], on_startup=[startup], on_shutdown=[shutdown]
    )
