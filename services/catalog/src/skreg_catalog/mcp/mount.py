"""`/mcp`: the MCP server's streamable HTTP endpoint, mounted into the catalog's Litestar app.

The caller is resolved before the SDK sees the request, by the same resolver as
every HTTP route (`Authorization: Bearer <token or API key>`, or `X-API-Key`): no
credential is the anonymous caller, a credential that does not verify is a 401
problem+json, never a silent fall-back to anonymous.

Only POST is served: in stateless JSON mode a GET would open an event stream on
which nothing is ever sent (held open for nothing), and DELETE ends a session
there is none of; both get 405, as the transport specification allows.
"""

from __future__ import annotations

from typing import Any

from litestar import asgi
from litestar.connection import ASGIConnection
from litestar.exceptions import MethodNotAllowedException
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from skreg_common.principal import resolve_principal

from skreg_catalog.mcp.server import SkillsMcp

PATH = "/mcp"


def mcp_endpoint(skills_mcp: SkillsMcp) -> ASGIRouteHandler:
    """The Litestar handler for `/mcp` that hands each request to `skills_mcp`."""

    @asgi(PATH, copy_scope=False)
    async def serve_mcp(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            raise MethodNotAllowedException(headers={"Allow": "POST"})
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive, send)
        await resolve_principal(connection)  # raises Unauthorized for a bad credential
        await skills_mcp.handle(dict(scope), receive, send)  # type: ignore[arg-type]

    return serve_mcp
