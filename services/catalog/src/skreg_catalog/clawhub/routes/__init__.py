"""The ClawHub-compatible API under `/clawhub` (`clawhub --registry <origin>/clawhub …`).

The CLI joins `api/v1/…` onto the base it is given (`new URL(path, base + "/")`),
and finds the base itself from `<site>/.well-known/clawhub.json` when given only
`--site <origin>`. It stays out of the OpenAPI document: its contract is the ClawHub
CLI's (plain-text errors included), not ours, and tests/clients pins it down.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.di import Provide
from skreg_common.runtime import Runtime

from skreg_catalog.clawhub.routes.errors import ERROR_HANDLERS
from skreg_catalog.clawhub.routes.paths import BASE
from skreg_catalog.clawhub.routes.publish import HANDLERS as PUBLISH_HANDLERS
from skreg_catalog.clawhub.routes.reads import HANDLERS as READ_HANDLERS
from skreg_catalog.clawhub.routes.reads import get_discovery
from skreg_catalog.clawhub.staging import UploadStaging, staging_for
from skreg_catalog.context import CatalogContext


def clawhub_router(catalog: CatalogContext) -> Router:
    """The ClawHub API under `/clawhub`, with its upload staging as the `staging` dependency."""
    holder: dict[str, UploadStaging] = {}

    def provide_staging(request: Request[Any, Any, Any]) -> UploadStaging:
        if "staging" not in holder:  # made on first use: the runtime (its Redis) is known then
            runtime: Runtime = request.app.state.runtime
            holder["staging"] = staging_for(runtime.redis, catalog.limits)
        return holder["staging"]

    return Router(
        path=BASE,
        route_handlers=[*READ_HANDLERS, *PUBLISH_HANDLERS],
        dependencies={"staging": Provide(provide_staging, sync_to_thread=False)},
        exception_handlers=ERROR_HANDLERS,
        include_in_schema=False,
    )


DISCOVERY_HANDLERS = [get_discovery]
