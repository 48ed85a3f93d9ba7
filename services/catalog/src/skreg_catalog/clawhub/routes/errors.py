"""Errors as the `clawhub` CLI shows them: plain text it prints as it is.

Problem+json would reach the user as raw JSON (the CLI prints the body of a failed
response verbatim); the ambiguous-slug error is the CLI's own structured JSON, which
it turns into a list of choices.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from skreg_common.errors import DomainError
from skreg_common.outages import outage_handlers
from skreg_proto.codec import to_json
from skreg_proto.problems import FormatError

from skreg_catalog.clawhub.service import AmbiguousSlug

log = structlog.get_logger(__name__)


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(message, status_code=status, media_type=MediaType.TEXT, headers=headers)


def _domain(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, AmbiguousSlug):
        return Response(to_json(exc.body), status_code=exc.status, media_type=MediaType.JSON)
    problems = "".join(f"\n  {p.path}: {p.message}" for p in exc.errors)
    return _text(exc.status, f"{exc.detail or exc.title}{problems}", exc.headers)


def _format(_: Request[Any, Any, Any], exc: FormatError) -> Response[Any]:
    problems = "".join(f"\n  {p.path or 'bundle'}: {p.message}" for p in exc.problems)
    return _text(422, f"the skill is not valid:{problems}")


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    details = "; ".join(
        f"{item.get('key', 'request')}: {item.get('message', 'invalid')}"
        for item in extra
        if isinstance(item, dict)
    )
    return _text(400, f"invalid request: {details or exc.detail}")


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        return _unexpected(request, exc)
    return _text(exc.status_code, exc.detail, exc.headers)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("request.failed", path=request.url.path, error_type=type(exc).__name__)
    return _text(500, "Something went wrong on the registry; its log has the details.")


ERROR_HANDLERS: dict[type[Exception] | int, Any] = {
    # A database outage or a full disk: 503 / 507 as text, not the catch-all 500.
    **outage_handlers(_domain, _unexpected),
    DomainError: _domain,
    FormatError: _format,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}
