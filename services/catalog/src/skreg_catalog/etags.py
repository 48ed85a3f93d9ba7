"""Conditional GETs: caching policies, and whether `If-None-Match` names the current `ETag`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from skreg_common.scopeheaders import scope_header

from skreg_catalog.skills.service import LATEST

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"  # what moves (`latest`, indexes): revalidate (cheap 304s)


def etag_matches(header: str | None, etag: str) -> bool:
    """True when `header` (`If-None-Match`) lists `etag` (quoted or not, weak or not) or `*`."""
    if not header:
        return False
    bare = etag.strip('"')
    return any(
        candidate.strip().removeprefix("W/").strip('"') in ("*", bare)
        for candidate in header.split(",")
    )


def cached_by_etag(
    request: Request[Any, Any, Any],
    version: str,
    etag: str,
    exact: str = IMMUTABLE,
    *,
    shared: bool = True,
) -> tuple[dict[str, str], Response[bytes] | None]:
    """The caching headers of something under `…/versions/{version}`, and the 304 to
    answer instead when the client holds it already. `latest` moves, so it is always
    revalidated; an exact version is cached by the `exact` policy."""
    policy = REVALIDATE if version == LATEST else exact
    if not shared:  # not everyone may see it: no proxy may keep it for others
        policy = policy.replace("public", "private")
    headers = {"ETag": f'"{etag}"', "Cache-Control": policy}
    if etag_matches(scope_header(request.scope, b"if-none-match"), etag):
        return headers, Response(b"", status_code=304, headers=headers)
    return headers, None
