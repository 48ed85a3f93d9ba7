"""`REQUIRE_SIGN_IN`: the whole registry answers only callers who proved who they are.

One app-level guard, the same in every service and in the all-in-one gateway: an
API, well-known, MCP or ClawHub request without a valid identity gets 401 (problem+json
with `WWW-Authenticate: Bearer`; ClawHub's own handlers answer in its plain text). Open
to anyone stay what a caller needs to get an identity or a probe needs to see the
process: `/health`, `/ready`, `/metrics` (its own token), the auth sign-in and token
endpoints, Git hosts' webhooks (signed with the source's secret), and `/internal/…`
(service credentials, checked by their own guards). Web UI pages carry
`skip_principal` (they sign in by session cookie): the UI's own guard sends anonymous
browsers to its sign-in page (skreg_gateway.ui.guards.sign_in_wall).

The skill visibility rule (skreg_catalog.visibility) reads the same setting, so even a
route this guard let through shows an anonymous caller nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from skreg_common.errors import Unauthorized
from skreg_common.principal import resolve_principal

AUTH = "/api/v1/auth"
# Exact paths that answer without an identity: probes, and the ways to get one.
OPEN_PATHS = frozenset(
    {
        "/health",
        "/ready",
        "/metrics",
        f"{AUTH}/login",
        f"{AUTH}/logout",
        f"{AUTH}/refresh",
        f"{AUTH}/register",  # governed by its own setting (registration open or not)
        f"{AUTH}/jwks",
        f"{AUTH}/service-token",
        f"{AUTH}/sso",
        f"{AUTH}/sso/begin",
        f"{AUTH}/sso/complete",
        f"{AUTH}/sso/device",
        f"{AUTH}/sso/device/token",
        f"{AUTH}/trusted-publishing/exchange",
    }
)
OPEN_PATTERN = re.compile(r"^(/internal/.*|/api/v1/sources/[^/]+/webhook)$")


def is_open(path: str) -> bool:
    """Whether `path` answers without an identity even when sign-in is required."""
    return path in OPEN_PATHS or OPEN_PATTERN.match(path) is not None


AsyncGuard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def sign_in_guard() -> AsyncGuard:
    """The sign-in requirement (installed app-wide by `skreg_common.app.build_app` only when
    `REQUIRE_SIGN_IN` is on)."""

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if handler.opt.get("skip_principal") or is_open(connection.url.path):
            return
        # An invalid credential raises Unauthorized itself; none at all is anonymous.
        if not (await resolve_principal(connection)).is_authenticated:
            raise Unauthorized("this registry requires sign-in: present a token or an API key")

    return guard
