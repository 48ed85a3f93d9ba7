"""The importer's list cursor: the (created_at, id) of the last row on a page."""

from __future__ import annotations

import datetime as dt

from skreg_common.errors import BadRequest
from skreg_proto.pagination import (
    InvalidCursor,
    cursor_text,
    cursor_time,
    decode_cursor,
    encode_cursor,
)


def encode_position(created_at: dt.datetime, row_id: str) -> str:
    """The cursor that continues after a row created at `created_at` with id `row_id`."""
    return encode_cursor([created_at.isoformat(), row_id])


def decode_position(cursor: str) -> tuple[dt.datetime, str]:
    """Reverse `encode_position`; anything we did not hand out is a 400."""
    try:
        at, last_id = decode_cursor(cursor)
        return cursor_time(at), cursor_text(last_id, 64)
    except (InvalidCursor, ValueError) as exc:
        raise BadRequest("malformed cursor") from exc
