"""Cursor pagination shapes shared by every list endpoint."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
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


def cursor_int(value: Any, *, bits: int = 64) -> int:
    """A cursor position that must be an integer a signed `bits`-wide column can hold.

    Past that width the driver fails (SQLite: OverflowError; PostgreSQL `INTEGER` is
    32 bits): a 500 for what is only a tampered cursor.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCursor("malformed cursor")
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise InvalidCursor("malformed cursor")
    return value


def cursor_text(value: Any, max_length: int = 512) -> str:
    """A cursor position that must be a string; PostgreSQL refuses NUL (and the others are
    never in a key we hand out), so control characters make the cursor malformed."""
    if not isinstance(value, str) or len(value) > max_length or not value.isprintable():
        raise InvalidCursor("malformed cursor")
    return value


def cursor_time(value: Any) -> dt.datetime:
    """A cursor position that must be an ISO 8601 timestamp with an offset, returned in UTC.

    A naive stamp would be refused when bound to a UTC column, and one near year 1 or
    9999 overflows on conversion: both are tampering, not server faults.
    """
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidCursor("malformed cursor")
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursor("malformed cursor") from exc
    if stamp.tzinfo is None:
        raise InvalidCursor("malformed cursor")
    try:
        return stamp.astimezone(dt.UTC)
    except OverflowError as exc:
        raise InvalidCursor("malformed cursor") from exc


def clamp_limit(limit: int | None) -> int:
    """Apply the default and the ceiling to a requested page size."""
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))
