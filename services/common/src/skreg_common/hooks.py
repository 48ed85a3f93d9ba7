"""Request hooks shared by the services' routers."""

from __future__ import annotations

from typing import Any

from litestar import Request

from skreg_common.errors import BadRequest


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """A NUL in the path or query can never name anything, and PostgreSQL rejects it in text.

    Without this, a `%00` in an id or filter reaches the driver as a bound parameter and
    fails there: a 500 on PostgreSQL for what SQLite answers with a 404.
    Async on purpose: Litestar runs sync hooks in its thread pool, two thread round trips
    on every request (measured on the catalog: a cached skill detail cost twice a `/health`).
    """
    query = request.scope.get("query_string", b"")
    if "\x00" in request.scope["path"] or b"%00" in query or b"\x00" in query:
        raise BadRequest("NUL characters are not allowed in the path or query")
