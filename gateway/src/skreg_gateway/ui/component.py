"""The web UI as a service component the gateway mounts (all-in-one or alone).

Wiring (gateway app): `ui_component(settings, api)` where `api` is an httpx client for
the public API, e.g. `InProcessApi().client` bound to the finished app in the all-in-one
process; without one, the UI calls AUTH_URL / CATALOG_URL / IMPORTER_URL over the network.
"""

from __future__ import annotations

import httpx
from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.session import SessionMiddleware
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, Receive, Scope, Send
from skreg_catalog.rendering import RenderLimits, RenderPool
from skreg_common.app import ServiceComponent
from skreg_common.forwarded import mark_in_process
from skreg_common.runtime import Runtime

from skreg_gateway.settings import GatewaySettings
from skreg_gateway.ui.account.routes import HANDLERS as ACCOUNT_HANDLERS
from skreg_gateway.ui.account.sso import HANDLERS as SSO_HANDLERS
from skreg_gateway.ui.admin.routes import admin_router
from skreg_gateway.ui.browse.routes import HANDLERS as BROWSE_HANDLERS
from skreg_gateway.ui.client import ApiRouter
from skreg_gateway.ui.context import STATE_KEY, UiState, provide_ui
from skreg_gateway.ui.errors import UI_EXCEPTION_HANDLERS, browser_error_page
from skreg_gateway.ui.guards import csrf_protect, sign_in_wall
from skreg_gateway.ui.orgs.routes import HANDLERS as ORG_HANDLERS
from skreg_gateway.ui.refresh import RefreshCoordinator
from skreg_gateway.ui.rendering import STATIC_DIR, create_templates
from skreg_gateway.ui.session import UiSessionBackend, derive_session_key, session_config

IN_PROCESS_BASE_URL = "http://skreg.internal"
STATIC_MAX_AGE_S = 3600


class InProcessApi:
    """An httpx client that calls an ASGI app in this process (bound once the app exists).

    The all-in-one app is built from the components, so the UI's client has to exist
    before the app does: `bind(app)` closes the loop.
    """

    def __init__(self, base_url: str = IN_PROCESS_BASE_URL) -> None:
        self._app: ASGIApp | None = None
        self.client = httpx.AsyncClient(
            transport=self.transport(),
            base_url=base_url,
            timeout=httpx.Timeout(30.0),
            headers={"user-agent": "skreg-ui"},
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport into the bound app (e.g. the importer's catalog client)."""
        # httpx and Litestar spell the ASGI callable's type differently; it is the same shape.
        return httpx.ASGITransport(app=self)  # type: ignore[arg-type]

    def bind(self, app: ASGIApp) -> None:
        """Send every call to `app` from now on."""
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            raise RuntimeError("InProcessApi used before bind(app)")
        # The mark no socket can set: internal routes answer only calls carrying it.
        mark_in_process(scope)
        await self._app(scope, receive, send)


def ui_component(
    settings: GatewaySettings,
    api: httpx.AsyncClient | None = None,
    renderer: RenderPool | None = None,
) -> ServiceComponent:
    """The pages, static files, and the browser error pages for unknown addresses.

    `renderer` renders Markdown and code for the pages (the catalog's, all-in-one).
    """
    max_age_s = settings.ui_session_days * 24 * 3600
    state = UiState(
        settings=settings,
        sessions=UiSessionBackend(session_config(settings.secret_key, max_age_s)),
        router=ApiRouter(settings, api),
        templates=create_templates(),
        refresher=RefreshCoordinator(derive_session_key(settings.secret_key + ":refresh")),
        renderer=renderer or RenderPool(RenderLimits()),
    )
    pages = Router(
        path="/",
        route_handlers=[
            *BROWSE_HANDLERS,
            *ACCOUNT_HANDLERS,
            *SSO_HANDLERS,
            *ORG_HANDLERS,
            admin_router(),
        ],
        dependencies={"ui": Provide(provide_ui)},
        middleware=[DefineMiddleware(SessionMiddleware, backend=state.sessions)],
        guards=[sign_in_wall, csrf_protect],
        exception_handlers=UI_EXCEPTION_HANDLERS,
        opt={STATE_KEY: state, "skip_principal": True},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(public=True, max_age=STATIC_MAX_AGE_S),
        include_in_schema=False,
        name="ui-static",
        opt={"skip_principal": True},
    )

    async def start(runtime: Runtime) -> None:
        state.refresher.redis = runtime.redis

    async def stop(_: Runtime) -> None:
        await state.router.aclose()
        state.renderer.close()

    return ServiceComponent(
        name="ui",
        route_handlers=[pages, static],
        on_startup=[start],
        on_shutdown=[stop],
        browser_error_page=browser_error_page(state),
    )
