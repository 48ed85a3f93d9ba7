"""Cursor pagination shapes shared by every list endpoint."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(msgspec.Struct, Generic[T]):
    """One page of a list: `items`, the cursor of the next page (None at the end), and a total."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None


class InvalidCursor(ValueError):
    """A cursor that this server did not hand out (or that was tampered with)."""


def encode_cursor(position: list[Any]) -> str:
    """Turn a keyset position (the sort key values of the last row) into an opaque cursor."""
    raw = msgspec.json.encode(position)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> list[Any]:
    """Reverse `encode_cursor`; raises `InvalidCursor` on anything malformed."""
    if len(cursor) > 2048:
        raise InvalidCursor("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if not isinstance(position, list):
        raise InvalidCursor("malformed cursor")
    return position


def clamp_limit(limit: int | None) -> int:
    """Apply the default and the ceiling to a requested page size."""
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))
