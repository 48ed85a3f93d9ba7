"""Error pages: what a browser sees when something fails (never internals, never JSON)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect
from skreg_common.errors import BrowserErrorPage, DomainError, request_id_of
from skreg_common.outages import outage_handlers

from skreg_gateway.ui.client import ApiError
from skreg_gateway.ui.context import UiContext, UiState, context_for, safe_local_path, state_of
from skreg_gateway.ui.guards import AdminOnly, CsrfRejected, SignInRequired, next_path
from skreg_gateway.ui.rendering import SECURITY_HEADERS

log = structlog.get_logger(__name__)

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "That request could not be understood. Check the address or the form."),
    403: ("Forbidden", "You do not have permission to see this page or do this."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Method not allowed", "This page cannot be used that way."),
    409: ("Conflict", "That clashes with something that already exists."),
    413: ("Too large", "That request was too large."),
    429: ("Too many requests", "Too many attempts in a short time. Please wait and try again."),
    500: ("Something went wrong", "Something went wrong on our side. Please try again later."),
    502: ("Something went wrong", "A service gave an answer we could not read."),
    503: ("Service unavailable", "A part of the registry is not reachable right now."),
    507: ("Storage full", "The registry's storage is full; nothing was saved."),
}


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    detail: str | None = None,
    state: UiState | None = None,
) -> Response[Any]:
    """The HTML page for `status`; `detail` is a user-facing line (never an exception text)."""
    title, message = MESSAGES.get(status, (HTTPStatus(status).phrase, ""))
    ctx = context_for(request)
    if ctx is None:
        ui_state = state or state_of(request)
        ctx = UiContext(request, ui_state)
    return ctx.render(
        "error.html",
        status=status,
        title=title,
        message=message,
        detail=detail,
        status_code=status,
        request_id=request_id_of(request),
    )


def _sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    target = "/login?" + urlencode({"next": safe_local_path(exc.next_path)})
    response: Response[Any] = Redirect(path=target, status_code=303)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _csrf(request: Request[Any, Any, Any], _: CsrfRejected) -> Response[Any]:
    log.info("ui.csrf_rejected", path=request.url.path)
    return error_page(
        request,
        403,
        "The form was missing its security token or came from another site. "
        "Reload the page and try again.",
    )


def _admin_only(request: Request[Any, Any, Any], _: AdminOnly) -> Response[Any]:
    return error_page(request, 403, "This page is for administrators.")


def _api(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    if exc.status == 401:
        ctx = context_for(request)
        if ctx is not None:
            ctx.sign_out()
            ctx.flash("Please sign in again.")
            return ctx.redirect("/login", next=next_path(request))
        return _sign_in(request, SignInRequired(next_path(request)))
    if exc.status == 0:
        return error_page(request, 503)
    if exc.status >= 500:
        return error_page(request, 502 if exc.status == 502 else 503)
    detail = exc.message if exc.status not in (404,) else None
    if exc.status == 429 and exc.retry_after:
        detail = f"Try again in {exc.retry_after} seconds."
    return error_page(request, exc.status if exc.status in MESSAGES else 400, detail)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return error_page(request, 400, "A value in the address is not valid.")


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("ui.http_error", path=request.url.path, status=status)
        return error_page(request, 500)
    return error_page(request, status)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("ui.page_failed", path=request.url.path, error_type=type(exc).__name__)
    try:
        return error_page(request, 500)
    except Exception:  # the error page itself failed: a plain page, still no internals
        log.exception("ui.error_page_failed")
        return Response(
            content="Something went wrong on our side.",
            status_code=500,
            media_type="text/plain; charset=utf-8",
            headers=SECURITY_HEADERS,
        )


def _outage(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    page = error_page(request, exc.status)  # 503 (database away) or 507 (disk full)
    page.headers.update(exc.headers)  # Retry-After with a 503
    return page


UI_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    **outage_handlers(_outage, _unexpected),
    SignInRequired: _sign_in,
    CsrfRejected: _csrf,
    AdminOnly: _admin_only,
    ApiError: _api,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser navigating to a page (not an API client, not a script)."""
    path = request.url.path
    if path.startswith(("/api/", "/internal/")) or path in ("/health", "/ready", "/metrics"):
        return False
    return "text/html" in request.headers.get("accept", "")


def browser_error_page(state: UiState) -> BrowserErrorPage:
    """For errors outside the UI's routes (an unknown address): a page instead of JSON."""

    def render(request: Request[Any, Any, Any], status: int) -> Response[Any] | None:
        if not wants_html(request) or status not in (404, 405):
            return None
        return error_page(request, status, state=state)

    return render
