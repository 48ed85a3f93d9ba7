"""`/api/v1/auth/sso…`: single sign-on for the web UI and the CLI.

The web UI (and `skreg login --sso --browser`) calls `begin` with its redirect URI,
sends the browser to the provider, and hands the returned code and state to
`complete`. The CLI's device flow calls `device` and polls `device/token`. Each ends
with the same tokens as a password sign-in.
"""

from __future__ import annotations

from litestar import Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from skreg_proto.auth import (
    SsoBeginRequest,
    SsoBeginResponse,
    SsoCompleteRequest,
    SsoDevicePending,
    SsoDeviceStart,
    SsoDeviceTokenRequest,
    SsoInfo,
    TokenResponse,
)

from skreg_auth.context import AuthContext

NO_STORE = CacheControlHeader(no_store=True)


@get("/sso", sync_to_thread=False)
def sso_info(auth: NamedDependency[AuthContext]) -> SsoInfo:
    """Whether single sign-on is configured, and whether passwords still sign in."""
    settings = auth.settings
    return SsoInfo(
        enabled=settings.sso_enabled,
        display_name=settings.sso_display_name,
        password_login=not settings.sso_enabled or settings.sso_password_login,
        device_flow=settings.sso_enabled,
    )


@post("/sso/begin", status_code=200, cache_control=NO_STORE)
async def sso_begin(
    data: JSONBody[SsoBeginRequest], auth: NamedDependency[AuthContext]
) -> SsoBeginResponse:
    """Start a sign-in at the provider (authorization code with PKCE)."""
    auth.sso.client_id  # noqa: B018 - refuses when SSO is off
    return await auth.sso.begin(data.redirect_uri)


@post("/sso/complete", status_code=200, cache_control=NO_STORE)
async def sso_complete(
    data: JSONBody[SsoCompleteRequest],
    auth: NamedDependency[AuthContext],
    client_ip: NamedDependency[str | None],
) -> TokenResponse:
    """The provider's code and state (once) → access token, refresh token, user."""
    return await auth.sso.complete(data.state, data.code, client_ip)


@post("/sso/device", status_code=200, cache_control=NO_STORE)
async def sso_device(auth: NamedDependency[AuthContext]) -> SsoDeviceStart:
    """Start a device sign-in (the CLI shows the code and the address to approve it)."""
    auth.sso.client_id  # noqa: B018
    return await auth.sso.device_start()


@post(
    "/sso/device/token",
    status_code=200,
    cache_control=NO_STORE,
    responses={
        202: ResponseSpec(SsoDevicePending, description="Not approved yet: poll again later")
    },
)
async def sso_device_token(
    data: JSONBody[SsoDeviceTokenRequest],
    auth: NamedDependency[AuthContext],
    client_ip: NamedDependency[str | None],
) -> Response[TokenResponse | SsoDevicePending]:
    """200 with tokens once approved; 202 while the user has not approved yet."""
    outcome = await auth.sso.device_poll(data.handle, client_ip)
    status = 202 if isinstance(outcome, SsoDevicePending) else 200
    return Response(outcome, status_code=status)


HANDLERS = [sso_info, sso_begin, sso_complete, sso_device, sso_device_token]
