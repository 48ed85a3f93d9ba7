"""Dependencies and guards the auth routes share.

Guards get no dependencies injected, so the two that need the auth context are made
for it by the component (`requires_open_registration(auth)`), like `requires_admin()`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from skreg_common.errors import Forbidden, RateLimited, Unauthorized
from skreg_common.forwarded import address_bucket
from skreg_common.principal import Guard, resolve_principal
from skreg_common.throttle import throttle_key

from skreg_auth.context import AuthContext


def provide_client_ip(request: Request[Any, Any, Any]) -> str | None:
    """Dependency `client_ip`: the caller's address as far as our proxies vouch for it."""
    return client_ip_of(request)


def client_ip_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The caller's address as `skreg_common.forwarded` resolved it (for guards too).

    Behind a trusted proxy, the address it forwarded; for the web UI's calls, the browser
    address the UI signed with the service secret; otherwise the socket peer.
    """
    client = connection.client
    return client.host if client is not None else None


async def requires_authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: any caller that proved who it is (user or service)."""
    if not (await resolve_principal(connection)).is_authenticated:
        raise Unauthorized("sign in or present an API key")


def requires_open_registration(auth: AuthContext) -> Guard:
    """Guard: registration is open, or an admin is creating the account."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if auth.settings.registration_is_open:
            return
        if not (await resolve_principal(connection)).is_admin:
            raise Forbidden("registration is closed; ask an administrator for an account")

    return guard


def requires_registration_budget(auth: AuthContext) -> Guard:
    """Guard: the address has registrations left in its window (admins are not counted).

    Every attempt counts, taken names included: each can cost a password hash.
    """

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if (await resolve_principal(connection)).is_admin:
            return
        address = address_bucket(client_ip_of(connection) or "unknown")
        slot = await auth.registrations.reserve(
            throttle_key("register", address), auth.settings.registration_max_per_address
        )
        if not slot.granted:
            raise RateLimited(
                slot.retry_after, "too many registrations from this address; try later"
            )

    return guard
