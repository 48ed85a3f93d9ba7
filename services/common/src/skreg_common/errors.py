"""Domain errors, and the one table that maps them (and everything else) to problem+json."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from skreg_proto.codec import to_json
from skreg_proto.problems import FieldProblem, FormatError, ProblemDetails

from skreg_common.outages import outage_handlers

PROBLEM_JSON = "application/problem+json"

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]

log = structlog.get_logger(__name__)


class DomainError(Exception):
    """Base of the errors services raise; each subclass has one HTTP status."""

    status: int = 400
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldProblem] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail
        self.errors = errors or []
        self.headers = dict(headers or {})
        super().__init__(detail or self.title)


class Invalid(DomainError):
    """The input is well-formed but breaks a rule; `errors` lists every problem."""

    status, title = 422, "Validation failed"


class BadRequest(DomainError):
    """The request itself is malformed (bad cursor, bad query parameter)."""

    status, title = 400, "Bad request"


class Unauthorized(DomainError):
    """No credential, or one that is not valid."""

    status, title = 401, "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(DomainError):
    """A valid credential that may not do this."""

    status, title = 403, "Forbidden"


class NotFound(DomainError):
    """No such thing (or not visible to the caller)."""

    status, title = 404, "Not found"


class Conflict(DomainError):
    """The request collides with existing state (same version, other content)."""

    status, title = 409, "Conflict"


class Gone(DomainError):
    """The thing existed and was removed."""

    status, title = 410, "Gone"


class TooLarge(DomainError):
    """The request body is over a configured limit."""

    status, title = 413, "Content too large"


class QuotaExceeded(TooLarge):
    """Storing this would take its owner past a storage quota."""

    title = "Storage quota exceeded"


class UnsupportedMediaType(DomainError):
    """The request body has a content type this endpoint does not take."""

    status, title = 415, "Unsupported media type"


class RateLimited(DomainError):
    """Too many attempts; `Retry-After` says when to come back."""

    status, title = 429, "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency (database, Redis, a peer service) is not reachable right now."""

    status, title = 503, "Service unavailable"


# How long a client should wait before retrying while the database is away: a
# PostgreSQL restart takes a few seconds, and the pool reconnects on the next request.
DATABASE_RETRY_AFTER_S = 5


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached right now; the request did nothing."""

    def __init__(self) -> None:
        super().__init__(
            "the database is not reachable right now; nothing was changed, try again shortly",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )


class StorageFull(DomainError):
    """The disk holding the database (or the blobs) is full; nothing was stored."""

    status, title = 507, "Insufficient storage"

    def __init__(self) -> None:
        super().__init__(
            "the registry's storage is full; nothing was stored. "
            "An operator must free or add disk space."
        )


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    errors: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> Response[bytes]:
    """Build an `application/problem+json` response."""
    body = ProblemDetails(
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=errors or [],
        request_id=request_id,
    )
    return Response(
        content=to_json(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def request_id_of(request: Request[Any, Any, Any]) -> str | None:
    """The request id skreg_common.logging gave this request (quoted in every error)."""
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    return problem_response(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        request_id=request_id_of(request),
    )


def _format(request: Request[Any, Any, Any], exc: FormatError) -> Response[bytes]:
    return problem_response(
        422,
        title="Validation failed",
        detail=exc.detail,
        errors=exc.problems,
        request_id=request_id_of(request),
    )


def _field_problem(item: dict[str, Any]) -> FieldProblem:
    path = str(item.get("key") or item.get("source") or "body")
    message = str(item.get("message", "invalid"))
    # Litestar reports a missing parameter or body as the KeyError's text, e.g. "'data'".
    if message == repr(path):
        message = "a request body is required" if path == "data" else "this value is required"
        path = "body" if path == "data" else path
    return FieldProblem(path=path, message=message)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors = [
        _field_problem(item)
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    return problem_response(
        400,
        title="Bad request",
        detail=exc.detail,
        errors=errors,
        request_id=request_id_of(request),
    )


# A component may show browsers a page instead of JSON for routing errors (the web UI's
# 404 page): `ServiceComponent.browser_error_page`, handed to `exception_handlers`.
# None from it (or any failure in it) keeps problem+json.
BrowserErrorPage = Callable[[Request[Any, Any, Any], int], Response[Any] | None]


def _browser_page(
    request: Request[Any, Any, Any], status: int, render: BrowserErrorPage
) -> Response[Any] | None:
    try:
        page = render(request, status)
    except Exception:
        log.exception("request.error_page_failed", path=request.url.path)
        return None
    return page if isinstance(page, Response) else None


def _http_handler(browser_page: BrowserErrorPage | None) -> Handler:
    def http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
        status = exc.status_code
        page = None if browser_page is None else _browser_page(request, status, browser_page)
        if page is not None:
            return page
        detail = exc.detail if status < 500 else None  # a 5xx says nothing internal
        return problem_response(
            status, detail=detail, headers=exc.headers or {}, request_id=request_id_of(request)
        )

    return http


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[bytes]:
    # msgspec and the YAML/JSON layers recurse per nesting level: a body nested thousands
    # deep is the client's fault, not ours.
    return problem_response(
        400,
        title="Bad request",
        detail="the request body is nested too deeply",
        request_id=request_id_of(request),
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("request.failed", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(
        500,
        title="Internal server error",
        detail="Something went wrong on our side; quote the request id when reporting it.",
        request_id=request_id_of(request),
    )


def exception_handlers(
    browser_page: BrowserErrorPage | None = None,
) -> dict[type[Exception] | int, Handler]:
    """The one translation table (advanced-alchemy style), with an optional browser page.

    Order does not matter: Litestar picks the most specific class in the exception's MRO.
    Database outages and a full disk get their own answers (503, 507: skreg_common.outages).
    """
    return {
        **outage_handlers(_domain, _unexpected),
        DomainError: _domain,
        FormatError: _format,
        ValidationException: _validation,
        HTTPException: _http_handler(browser_page),
        RecursionError: _too_deep,
        Exception: _unexpected,
    }


# The table of a service without a browser page (every service alone).
EXCEPTION_HANDLERS = exception_handlers()
