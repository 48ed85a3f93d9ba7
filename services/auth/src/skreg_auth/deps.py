"""Dependencies and guards the auth routes share."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from skreg_common.errors import Forbidden, RateLimited, Unauthorized
from skreg_common.forwarded import address_bucket
from skreg_common.principal import resolve_principal
from skreg_common.throttle import throttle_key

from skreg_auth.context import AuthContext

EXTRAS_KEY = "skreg_auth"


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthContext:
    """The process's AuthContext (built when the app was assembled)."""
    context: AuthContext = connection.app.state.runtime.extras[EXTRAS_KEY]
    return context


def provide_auth(request: Request[Any, Any, Any]) -> AuthContext:
    """Dependency `auth`."""
    return context_of(request)


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


async def requires_open_registration(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: registration is open, or an admin is creating the account."""
    if context_of(connection).settings.registration_is_open:
        return
    if not (await resolve_principal(connection)).is_admin:
        raise Forbidden("registration is closed; ask an administrator for an account")


async def requires_registration_budget(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: the address has registrations left in its window (admins are not counted).

    Every attempt counts, taken names included: each can cost a password hash.
    """
    if (await resolve_principal(connection)).is_admin:
        return
    context = context_of(connection)
    address = address_bucket(client_ip_of(connection) or "unknown")
    slot = await context.registrations.reserve(
        throttle_key("register", address), context.settings.registration_max_per_address
    )
    if not slot.granted:
        raise RateLimited(slot.retry_after, "too many registrations from this address; try later")
