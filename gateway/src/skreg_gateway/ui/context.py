"""Per-request UI plumbing: the session, the API on the user's behalf, rendering, guards, CSRF."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import structlog
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from skreg_catalog.rendering import RenderLimits, RenderPool
from skreg_proto.auth import RefreshRequest, TokenResponse

from skreg_gateway.settings import GatewaySettings
from skreg_gateway.ui.client import Api, ApiError, ApiRouter
from skreg_gateway.ui.refresh import RefreshCoordinator
from skreg_gateway.ui.rendering import SECURITY_HEADERS
from skreg_gateway.ui.session import (
    Flash,
    SessionUser,
    UiSession,
    UiSessionBackend,
    mark_changed,
    new_session,
)

log = structlog.get_logger(__name__)

STATE_KEY = "ui_state"
_SCOPE_SESSION = "ui_session"
_SCOPE_CONTEXT = "ui_context"
# Refresh a little before expiry so a page's API calls never race the token's last second.
REFRESH_MARGIN_S = 30
CSRF_FIELD = "csrf_token"
MAX_FLASHES = 5
MAX_FLASH_CHARS = 300
# Scripts (fetch, htmx via hx-headers) send the token in this header instead of a field.
CSRF_HEADER = "x-csrf-token"


@dataclass
class UiState:
    """Everything the UI shares across requests in one process."""

    settings: GatewaySettings
    sessions: UiSessionBackend
    router: ApiRouter
    templates: JinjaTemplateEngine
    refresher: RefreshCoordinator
    # Renders Markdown, code and links off the event loop (shared with the catalog when
    # both run in one process).
    renderer: RenderPool = field(default_factory=lambda: RenderPool(RenderLimits()))

    def __deepcopy__(self, memo: dict[int, Any]) -> UiState:
        # Litestar deep-copies handler `opt` per route; this is one shared object, not data.
        return self


def state_of(connection: ASGIConnection[Any, Any, Any, Any]) -> UiState:
    """The UI state, carried in the route handlers' `opt` by the UI router."""
    handler = connection.scope.get("route_handler")
    state = handler.opt.get(STATE_KEY) if handler is not None else None
    if not isinstance(state, UiState):
        raise RuntimeError("UI handler mounted without the UI router")
    return state


def load_session(connection: ASGIConnection[Any, Any, Any, Any], state: UiState) -> UiSession:
    """The browser's session (a new anonymous one when absent or invalid), once per request."""
    scope_state = connection.scope.setdefault("state", {})
    cached = scope_state.get(_SCOPE_SESSION)
    if isinstance(cached, UiSession):
        return cached
    # The session middleware has read the cookie on the UI's routes; an error page for an
    # address outside them (skreg_gateway.ui.errors.browser_error_page) reads it here.
    raw = connection.scope.get("session")
    if raw is None:
        raw = state.sessions.read(connection)
    session = state.sessions.session_of(raw)
    if session is None:
        session = new_session()
        scope_state["ui_session_new"] = True
    scope_state[_SCOPE_SESSION] = session
    return session


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The browser's address (behind a trusted proxy: the one it forwarded)."""
    return connection.client.host if connection.client else None


class UiContext:
    """One request's view of the UI: session, API client, and the page helpers."""

    def __init__(self, request: Request[Any, Any, Any], state: UiState) -> None:
        self.request = request
        self.state = state
        self.session = load_session(request, state)
        self.dirty = bool(request.scope.get("state", {}).get("ui_session_new"))
        # Outside the UI's routes no middleware writes the cookie: such a page (an unknown
        # address) leaves one-time messages for the next page instead of losing them.
        self.writable = "session" in request.scope
        self.api = Api(
            state.router, self.session.access_token, client_ip(request), renew=self._renew
        )

    @property
    def user(self) -> SessionUser | None:
        """The signed-in user, if any."""
        return self.session.user if self.session.signed_in else None

    def anonymous_api(self) -> Api:
        """An API client without the user's token (public reads, login, register)."""
        return Api(self.state.router, None, client_ip(self.request))

    def flash(self, message: str, level: str = "info") -> None:
        """Show `message` on the next page rendered for this browser (the newest few).

        The messages travel in the cookie, which a browser caps at 4 KB.
        """
        self.session.flash.append(Flash(level=level, message=message[:MAX_FLASH_CHARS]))
        del self.session.flash[:-MAX_FLASHES]
        self.dirty = True

    def sign_in(self, tokens: TokenResponse) -> None:
        """Keep fresh tokens (after login or refresh); the CSRF token stays (open forms work)."""
        self.session.user = SessionUser(
            id=tokens.user.id, username=tokens.user.username, role=tokens.user.role
        )
        self.session.access_token = tokens.access_token
        self.session.refresh_token = tokens.refresh_token
        self.session.access_expires_at = time.time() + tokens.expires_in
        self.api.token = tokens.access_token
        self.dirty = True

    def sign_out(self) -> None:
        """Forget the user in this browser."""
        self.session.sign_out()
        self.api.token = None
        self.dirty = True

    async def ensure_fresh(self) -> None:
        """Refresh the access token when it is about to expire; sign out when that fails."""
        session = self.session
        if not session.signed_in or session.refresh_token is None:
            return
        if session.access_expires_at - time.time() > REFRESH_MARGIN_S:
            return
        try:
            tokens = await self.state.refresher.refresh(session.refresh_token, self._refresh)
        except ApiError as exc:
            if exc.status in (400, 401, 403):
                log.info("ui.session_expired", user=session.user.username if session.user else None)
                self.sign_out()
                self.flash("Your session has ended; please sign in again.")
                return
            raise
        self.sign_in(tokens)

    async def _refresh(self, refresh_token: str) -> TokenResponse:
        api = Api(self.state.router, None, client_ip(self.request))
        return await api.call(
            "POST",
            "/api/v1/auth/refresh",
            TokenResponse,
            body=RefreshRequest(refresh_token=refresh_token),
        )

    async def _renew(self, refused: str) -> str | None:
        """Fresh tokens after the API refused `refused` before it expired: a membership
        change revoked it (`skreg_gateway.ui.client.Api`); None signs the person out."""
        session = self.session
        if not session.signed_in or session.refresh_token is None:
            return None
        if session.access_token and session.access_token != refused:
            return session.access_token  # a sibling call of this page renewed already
        try:
            tokens = await self.state.refresher.refresh(session.refresh_token, self._refresh)
        except ApiError as exc:
            if exc.status in (400, 401, 403):
                return None
            raise
        log.info("ui.session_renewed", user=session.user.username if session.user else None)
        self.sign_in(tokens)
        return tokens.access_token

    def template_globals(self, partial: bool = False) -> dict[str, Any]:
        """What every template may use: the user, the CSRF token, one-time messages.

        A partial (a fragment fetched by a script) leaves the messages for the next page.
        """
        flashes = [] if partial or not self.writable else list(self.session.flash)
        if flashes:
            self.session.flash.clear()
            self.dirty = True
        return {
            "current_user": self.user,
            "ui_csrf_token": self.session.csrf,
            "ui_csrf_field": CSRF_FIELD,
            "flashes": flashes,
            "current_path": self.request.url.path,
        }

    def render(
        self,
        template: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        partial: bool = False,
        **values: Any,
    ) -> Response[str]:
        """Render `template` with `values` and the globals, as an HTML response."""
        html = self.state.templates.get_template(template).render(
            **self.template_globals(partial), **values
        )
        response: Response[str] = Response(
            content=html,
            status_code=status,
            media_type="text/html; charset=utf-8",
            headers=headers or {},
        )
        return self.finish(response)

    def redirect(self, path: str, **query: str | None) -> Response[Any]:
        """A 303 to a path of ours (after a POST, and for sign-in)."""
        params = {k: v for k, v in query.items() if v}
        target = safe_local_path(path) + (("?" + urlencode(params)) if params else "")
        return self.finish(Redirect(path=target, status_code=303))

    def finish(self, response: Response[Any]) -> Response[Any]:
        """Add the security headers; a changed session goes into the cookie (the middleware)."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if self.dirty:
            mark_changed(self.request, self.session)
        return response


def safe_local_path(value: str | None, default: str = "/") -> str:
    """`value` if it is a path on this site; otherwise `default` (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in value):
        return default
    return value


def context_for(connection: ASGIConnection[Any, Any, Any, Any]) -> UiContext | None:
    """The request's UiContext if the handler already built one (error pages reuse it)."""
    found = connection.scope.get("state", {}).get(_SCOPE_CONTEXT)
    return found if isinstance(found, UiContext) else None


async def provide_ui(request: Request[Any, Any, Any]) -> UiContext:
    """Dependency `ui`: the context with a fresh access token."""
    existing = context_for(request)
    if existing is not None:
        return existing
    ctx = UiContext(request, state_of(request))
    request.scope.setdefault("state", {})[_SCOPE_CONTEXT] = ctx
    await ctx.ensure_fresh()
    return ctx
