"""Conditional GETs: whether an `If-None-Match` header names the current `ETag`."""

from __future__ import annotations


def etag_matches(header: str | None, etag: str) -> bool:
    """True when `header` (`If-None-Match`) lists `etag` (quoted or not, weak or not) or `*`."""
    if not header:
        return False
    bare = etag.strip('"')
    return any(
        candidate.strip().removeprefix("W/").strip('"') in ("*", bare)
        for candidate in header.split(",")
    )
