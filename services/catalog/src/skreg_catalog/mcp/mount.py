"""`/mcp`: the MCP server's streamable HTTP endpoint, mounted into the catalog's Litestar app.

The caller is resolved before the SDK sees the request, by the same resolver as
every HTTP route (`Authorization: Bearer <token or API key>`, or `X-API-Key`): no
credential is the anonymous caller, a credential that does not verify is a 401
problem+json, never a silent fall-back to anonymous.

Only POST is served: in stateless JSON mode a GET would open an event stream on
which nothing is ever sent (held open for nothing), and DELETE ends a session
there is none of; both get 405, as the transport specification allows.

The SDK is imported on the first request, not at start-up: importing it costs about
1.2 s of CPU (measured on the dev machine), which every registry process would pay
at start even when nobody uses MCP. It then runs until the app stops.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from litestar import asgi
from litestar.connection import ASGIConnection
from litestar.exceptions import MethodNotAllowedException
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from skreg_common.principal import resolve_principal
from skreg_common.runtime import Runtime

from skreg_catalog.context import CatalogContext
from skreg_catalog.mcp.reads import REQUEST_SIGHT
from skreg_catalog.visibility import sight_of

if TYPE_CHECKING:
    from skreg_catalog.mcp.server import SkillsMcp

PATH = "/mcp"


class McpEndpoint:
    """The MCP server of one app: started on first use, stopped with the app."""

    def __init__(self, catalog: CatalogContext) -> None:
        self.catalog = catalog
        self._server: SkillsMcp | None = None
        self._failure: BaseException | None = None
        self._wanted: anyio.Event | None = None
        self._ready: anyio.Event | None = None

    @asynccontextmanager
    async def running(self, runtime: Runtime) -> AsyncIterator[None]:
        """Held for the app's life (a ServiceComponent lifespan)."""
        self._wanted, self._ready = anyio.Event(), anyio.Event()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._serve_once_wanted, runtime, self._wanted, self._ready)
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()

    async def _serve_once_wanted(
        self, runtime: Runtime, wanted: anyio.Event, ready: anyio.Event
    ) -> None:
        await wanted.wait()
        try:
            module = await anyio.to_thread.run_sync(
                importlib.import_module, "skreg_catalog.mcp.server"
            )
            server: SkillsMcp = module.SkillsMcp(self.catalog)
            async with server.running(runtime):
                self._server = server
                ready.set()
                await anyio.sleep_forever()
        except Exception as exc:  # answered as a 500 by every request, logged by the app
            self._failure = exc
            ready.set()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request, starting the server if this is the first."""
        if self._wanted is None or self._ready is None:
            raise RuntimeError("the MCP endpoint is not running")
        self._wanted.set()
        await self._ready.wait()
        if self._server is None:
            raise RuntimeError("the MCP endpoint failed to start") from self._failure
        await self._server.handle(dict(scope), receive, send)  # type: ignore[arg-type]


def mcp_endpoint(endpoint: McpEndpoint) -> ASGIRouteHandler:
    """The Litestar handler for `/mcp` that hands each request to `endpoint`."""

    @asgi(PATH, copy_scope=False)
    async def serve_mcp(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            raise MethodNotAllowedException(headers={"Allow": "POST"})
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive, send)
        principal = await resolve_principal(connection)  # Unauthorized for a bad credential
        sight = sight_of(principal, require_sign_in=endpoint.catalog.settings.require_sign_in)
        token = REQUEST_SIGHT.set(sight)
        try:
            await endpoint.handle(scope, receive, send)
        finally:
            REQUEST_SIGHT.reset(token)

    return serve_mcp
