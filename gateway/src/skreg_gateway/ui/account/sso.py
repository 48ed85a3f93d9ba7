"""Sign in with the identity provider: `/login/sso` → the provider → `/login/sso/callback`.

The OpenID Connect work is auth's (`/api/v1/auth/sso/…`): it keeps the state, nonce
and PKCE verifier, redeems the code and checks the ID token. The UI adds what only a
browser session can: the state is also kept in this browser's sealed cookie, so a
callback carrying a state this browser did not start (login CSRF, a link sent by
someone else, a replay) is refused before auth is even asked.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect
from skreg_proto.auth import (
    SsoBeginRequest,
    SsoBeginResponse,
    SsoCompleteRequest,
    SsoInfo,
    TokenResponse,
)

from skreg_gateway.ui.client import ApiError
from skreg_gateway.ui.context import UiContext, safe_local_path
from skreg_gateway.ui.errors import error_page

CALLBACK = "/login/sso/callback"


async def sso_info(ui: UiContext) -> SsoInfo | None:
    """Whether SSO is configured (None when auth cannot say)."""
    try:
        return await ui.anonymous_api().get("/api/v1/auth/sso", SsoInfo)
    except ApiError:
        return None


def _failure(ui: UiContext, status: int, detail: str) -> Response[Any]:
    response = error_page(ui.request, status, detail)
    return ui.finish(response)


@get("/login/sso", include_in_schema=False)
async def sso_start(
    ui: NamedDependency[UiContext], next: str | None = Parameter(default=None, max_length=2048)
) -> Response[Any]:
    """Send the browser to the identity provider."""
    if ui.user is not None:
        return ui.redirect(safe_local_path(next))
    callback = str(ui.request.base_url).rstrip("/") + CALLBACK
    try:
        begun = await ui.anonymous_api().call(
            "POST",
            "/api/v1/auth/sso/begin",
            SsoBeginResponse,
            body=SsoBeginRequest(redirect_uri=callback),
        )
    except ApiError as exc:
        if exc.status == 403:
            return _failure(ui, 404, "Single sign-on is not configured on this registry.")
        if exc.status in (0, 502, 503, 504):
            return _failure(ui, 502, _provider_down(exc))
        raise
    ui.session.sso_state = begun.state
    ui.session.sso_next = safe_local_path(next)
    ui.dirty = True
    return ui.finish(Redirect(path=begun.authorization_url, status_code=303))


def _provider_down(exc: ApiError) -> str:
    return (
        "The identity provider cannot be reached right now, so single sign-on is not "
        f"possible. Try again in a few minutes. ({exc.message})"
    )


@get(CALLBACK, include_in_schema=False)
async def sso_callback(
    ui: NamedDependency[UiContext],
    code: Annotated[str | None, QueryParameter(max_length=2048)] = None,
    returned_state: Annotated[str | None, QueryParameter(name="state", max_length=256)] = None,
    error: Annotated[str | None, QueryParameter(max_length=256)] = None,
    error_description: Annotated[str | None, QueryParameter(max_length=1024)] = None,
) -> Response[Any]:
    """Finish the sign-in the provider sent the browser back from."""
    expected, next_path = ui.session.sso_state, ui.session.sso_next or "/"
    ui.session.sso_state, ui.session.sso_next = None, None
    ui.dirty = True
    if error:
        reason = error_description or error
        return _failure(ui, 401, f"The identity provider did not sign you in: {reason}")
    state = returned_state
    if not code or not state:
        return _failure(ui, 400, "The identity provider's answer has no code or state.")
    if expected is None or not hmac.compare_digest(expected.encode(), state.encode()):
        return _failure(
            ui,
            400,
            "This sign-in was not started in this browser, or was already used. "
            "Start signing in again.",
        )
    try:
        tokens = await ui.anonymous_api().call(
            "POST",
            "/api/v1/auth/sso/complete",
            TokenResponse,
            body=SsoCompleteRequest(state=state, code=code),
        )
    except ApiError as exc:
        if exc.status in (0, 502, 503, 504):
            return _failure(ui, 502, _provider_down(exc))
        if 400 <= exc.status < 500:
            return _failure(ui, exc.status, f"Single sign-on failed: {exc.message}")
        raise
    ui.session.sign_out()  # a fresh CSRF token for the signed-in session
    ui.sign_in(tokens)
    ui.flash(f"Signed in as {tokens.user.username}.")
    return ui.redirect(next_path)


HANDLERS = [sso_start, sso_callback]
