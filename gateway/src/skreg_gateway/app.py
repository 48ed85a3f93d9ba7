"""The all-in-one app: auth, catalog, importer and the web UI in one ASGI app on one port.

Services still talk to each other over HTTP, only without a socket: the UI's API
client and the importer's catalog client go through an in-process ASGI transport
into this same app. `/internal/…` routes answer only that transport (never the port).
Auth comes first: it supplies the principal resolver.
"""

from __future__ import annotations

from litestar import Litestar
from skreg_auth.component import component as auth_component
from skreg_auth.settings import AuthSettings
from skreg_catalog.component import component as catalog_component
from skreg_catalog.context import CatalogContext
from skreg_catalog.rendering import RenderPool
from skreg_catalog.settings import CatalogSettings
from skreg_common.app import ServiceComponent, build_app
from skreg_common.migrate import installed_migrations
from skreg_common.migrations import with_migrations
from skreg_common.runtime import Runtime
from skreg_common.settings import load_settings
from skreg_importer.component import component as importer_component
from skreg_importer.settings import ImporterSettings

from skreg_gateway.settings import GatewaySettings
from skreg_gateway.ui.component import InProcessApi, ui_component


def components(settings: GatewaySettings, api: InProcessApi) -> list[ServiceComponent]:
    """Every service mounted in this process, each with its own settings from the environment.

    The catalog and the UI share one render pool: one cache, one set of worker processes.
    """
    catalog_settings = load_settings(CatalogSettings)
    catalog = CatalogContext.create(catalog_settings)
    return [
        auth_component(load_settings(AuthSettings)),
        catalog_component(catalog_settings, catalog),
        importer_component(load_settings(ImporterSettings), catalog_transport=api.transport()),
        ui_component(settings, api.client, catalog.renderer),
    ]


def create_ui_app(settings: GatewaySettings, runtime: Runtime | None = None) -> Litestar:
    """The split deployment's gateway: only the web UI, calling the services over HTTP."""
    renderer = RenderPool(load_settings(CatalogSettings).render_limits)  # RENDER_* settings
    return build_app(
        "Skills Registry UI",
        runtime or Runtime.open(settings),
        [ui_component(settings, renderer=renderer)],
    )


def create_app(settings: GatewaySettings, runtime: Runtime | None = None) -> Litestar:
    """Build the app `GATEWAY_MODE` asks for; all-in-one migrates first on embedded SQLite."""
    if settings.gateway_mode == "ui":
        return create_ui_app(settings, runtime)
    runtime = runtime or Runtime.open(settings)
    api = InProcessApi()

    async def close_api(_: Runtime) -> None:
        await api.client.aclose()

    parts = components(settings, api)
    parts.append(
        ServiceComponent(name="in-process-api", route_handlers=[], on_shutdown=[close_api])
    )
    parts = with_migrations(settings, installed_migrations(), parts)
    # Internal routes answer only the in-process transport, never the listening socket.
    app = build_app("Skills Registry", runtime, parts, internal_over_network=False)
    api.bind(app)
    return app
