"""Dependencies and guards the auth routes share."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from skreg_common.errors import Forbidden, Unauthorized
from skreg_common.principal import resolve_principal

from skreg_auth.clientip import client_address
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
    return client_address(request)


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
