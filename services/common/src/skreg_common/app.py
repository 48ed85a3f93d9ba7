"""Assemble Litestar apps from service components, the same way alone or all-in-one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_common.db import unit_of_work
from skreg_common.errors import BrowserErrorPage, exception_handlers
from skreg_common.forwarded import forwarded_middleware
from skreg_common.health import HEALTH_HANDLERS
from skreg_common.internal import internal_route_middleware
from skreg_common.logging import request_id_middleware
from skreg_common.metrics import request_metrics
from skreg_common.openapi import document_problems
from skreg_common.principal import Principal, PrincipalResolver, resolve_principal
from skreg_common.runtime import Runtime
from skreg_common.signin import sign_in_guard

Hook = Callable[[Runtime], Awaitable[None]]


@dataclass
class ServiceComponent:
    """What a service contributes to an app: its routes, and what to start and stop with it."""

    name: str
    route_handlers: Sequence[ControllerRouterHandler]
    on_startup: Sequence[Hook] = field(default_factory=list)
    on_shutdown: Sequence[Hook] = field(default_factory=list)
    # Context managers held open for the app's life (entered after on_startup, exited
    # before on_shutdown), for libraries whose lifecycle is one `async with`.
    lifespans: Sequence[Callable[[Runtime], AbstractAsyncContextManager[Any]]] = field(
        default_factory=list
    )
    # Lets a component (auth, in-process) supply the principal resolver for the whole app.
    resolver_factory: Callable[[Runtime], PrincipalResolver] | None = None
    # Lets a component (the web UI) answer a browser's routing error (an unknown address)
    # with a page instead of problem+json; the first component that has one supplies it.
    browser_error_page: BrowserErrorPage | None = None


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """One session per request, committed on success and rolled back otherwise.

    Litestar runs the code after `yield` before the response is sent, and throws the
    handler's exception into this generator, so a failed commit is never a 200.
    """
    runtime: Runtime = request.app.state.runtime
    async with unit_of_work(runtime.sessions) as session:
        yield session


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller, resolved once per request."""
    return await resolve_principal(request)


def build_app(
    title: str,
    runtime: Runtime,
    components: Sequence[ServiceComponent],
    *,
    resolver: PrincipalResolver | None = None,
    extra_handlers: Sequence[ControllerRouterHandler] = (),
    internal_over_network: bool = True,
    **litestar_kwargs: Any,
) -> Litestar:
    """One Litestar app serving `components`, with health, metrics, errors and sessions wired in.

    `internal_over_network=False` (the all-in-one process): `/internal/…` routes answer
    only in-process calls (skreg_common.internal).
    """
    factories = [c.resolver_factory for c in components if c.resolver_factory is not None]
    if resolver is None and factories:
        resolver = factories[0](runtime)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Built (and cached) now, so the first /schema request already gets it fixed.
        document_problems(app.openapi_schema)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(runtime.close)
            for component in components:
                for hook in component.on_startup:
                    await hook(runtime)
                for hook in reversed(component.on_shutdown):
                    stack.push_async_callback(hook, runtime)
                for held in component.lifespans:
                    await stack.enter_async_context(held(runtime))
            yield

    pages = [c.browser_error_page for c in components if c.browser_error_page is not None]
    handlers: list[ControllerRouterHandler] = [*HEALTH_HANDLERS, *extra_handlers]
    for component in components:
        handlers.extend(component.route_handlers)
    app = Litestar(
        route_handlers=handlers,
        dependencies={
            "db_session": Provide(provide_db_session),
            "principal": Provide(provide_principal),
        },
        exception_handlers=exception_handlers(pages[0] if pages else None),
        # The client's address first, so every later layer (logs, throttles) sees the real one.
        middleware=[
            forwarded_middleware(runtime.settings),
            internal_route_middleware(runtime.settings, over_network=internal_over_network),
            request_id_middleware,
            request_metrics("skreg", exclude=["/metrics"]),
        ],
        # No app-level guard unless sign-in is required: Litestar copies the route handler
        # for each one on every request (see internal_route_middleware).
        guards=[sign_in_guard()] if runtime.settings.require_sign_in else [],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title=title, version="1.0.0", path="/schema", render_plugins=[SwaggerRenderPlugin()]
        ),
        # Logging is configured once per process by skreg_common.logging; Litestar's own
        # config would replace our handlers and print stdlib records in another format.
        logging_config=None,
        **litestar_kwargs,
    )
    app.state.runtime = runtime
    app.state.principal_resolver = resolver
    return app
