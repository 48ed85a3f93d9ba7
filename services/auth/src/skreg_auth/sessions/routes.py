"""`/api/v1/auth/login`, `/refresh`, `/logout`, `/me`, `/account/password`."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import JSONBody
from skreg_common.errors import Unauthorized
from skreg_common.principal import ANONYMOUS, Principal, requires_user, resolve_principal
from skreg_proto.auth import (
    LoginRequest,
    LogoutRequest,
    MeResponse,
    PasswordChangeRequest,
    RefreshRequest,
    TokenResponse,
)

from skreg_auth.context import AuthContext
from skreg_auth.deps import requires_authenticated

NO_STORE = CacheControlHeader(no_store=True)


@post("/login", status_code=200, cache_control=NO_STORE)
async def login(
    data: JSONBody[LoginRequest],
    auth: NamedDependency[AuthContext],
    client_ip: NamedDependency[str | None],
) -> TokenResponse:
    """Username (or email) and password → access token, refresh token, user."""
    return await auth.logins.login(data.username, data.password, client_ip)


@post("/refresh", status_code=200, cache_control=NO_STORE)
async def refresh(
    data: JSONBody[RefreshRequest],
    auth: NamedDependency[AuthContext],
    client_ip: NamedDependency[str | None],
) -> TokenResponse:
    """A refresh token (single use) → new access and refresh tokens."""
    return await auth.logins.refresh(data.refresh_token, client_ip)


@post("/logout", status_code=204)
async def logout(
    request: Request[Any, Any, Any],
    auth: NamedDependency[AuthContext],
    client_ip: NamedDependency[str | None],
    data: JSONBody[LogoutRequest | None] = None,
) -> None:
    """End the session of the refresh token given (or of the bearer access token)."""
    try:
        principal = await resolve_principal(request)
    except Unauthorized:
        # Logging out with an access token that has just expired must still work:
        # the refresh token in the body is proof enough.
        principal = ANONYMOUS
    await auth.logins.logout(principal, data.refresh_token if data else None, client_ip)


@get("/me", guards=[requires_authenticated], sync_to_thread=False)
def get_me(principal: NamedDependency[Principal]) -> MeResponse:
    """Who the credential belongs to, its roles and scopes (no database involved)."""
    return MeResponse(
        kind=principal.kind,
        id=principal.id,
        username=principal.username,
        roles=list(principal.roles),
        scopes=list(principal.scopes),
        key_id=principal.key_id,
    )


@post("/account/password", guards=[requires_user()], status_code=200, cache_control=NO_STORE)
async def change_password(
    data: JSONBody[PasswordChangeRequest],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> TokenResponse:
    """Change the caller's password: other sessions end, fresh tokens come back."""
    return await auth.logins.change_password(
        principal, data.current_password, data.new_password, client_ip
    )


HANDLERS = [login, refresh, logout, get_me, change_password]
