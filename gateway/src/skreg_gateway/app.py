"""The all-in-one app: every service's routes in one ASGI app on one port."""

from __future__ import annotations

from litestar import Litestar
from skreg_common.app import ServiceComponent, build_app
from skreg_common.migrations import upgrade
from skreg_common.runtime import Runtime

from skreg_gateway.migrate import ALL_MIGRATIONS
from skreg_gateway.settings import GatewaySettings


def components(settings: GatewaySettings) -> list[ServiceComponent]:
    """The services mounted in this process (filled in as each service lands)."""
    return []


def create_app(settings: GatewaySettings, runtime: Runtime | None = None) -> Litestar:
    """Build the all-in-one app; migrates first when the settings say so (embedded SQLite)."""
    runtime = runtime or Runtime.open(settings)

    async def migrate(rt: Runtime) -> None:
        await upgrade(rt.engine, ALL_MIGRATIONS)

    parts = components(settings)
    if settings.should_migrate:
        parts.insert(
            0, ServiceComponent(name="migrations", route_handlers=[], on_startup=[migrate])
        )
    return build_app("Skills Registry", runtime, parts)
