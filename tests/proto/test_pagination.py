"""Typed readers of cursor positions: anything a column could not bind is `InvalidCursor`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from skreg_proto.pagination import InvalidCursor, cursor_int, cursor_text, cursor_time


def test_cursor_int_bounds() -> None:
    assert cursor_int(2**63 - 1) == 2**63 - 1
    assert cursor_int(-(2**63)) == -(2**63)
    assert cursor_int(2**31 - 1, bits=32) == 2**31 - 1
    for bad, bits in ((2**63, 64), (-(2**63) - 1, 64), (2**31, 32), (10**30, 64)):
        with pytest.raises(InvalidCursor):
            cursor_int(bad, bits=bits)


@pytest.mark.parametrize("value", [True, 1.0, "1", None, [1]])
def test_cursor_int_refuses_other_types(value: Any) -> None:
    with pytest.raises(InvalidCursor):
        cursor_int(value)


def test_cursor_text() -> None:
    assert cursor_text("alice") == "alice"
    for bad in ("a\x00b", "\x7f", "x" * 513, 5, None):
        with pytest.raises(InvalidCursor):
            cursor_text(bad)


def test_cursor_time_is_aware_utc_and_in_range() -> None:
    stamp = cursor_time("2026-01-01T05:00:00+05:00")
    assert stamp == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert stamp.utcoffset() == dt.timedelta(0)
    for bad in (
        "2026-01-01T00:00:00",
        "2026-01-01",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "yesterday",
        20260101,
        None,
    ):
        with pytest.raises(InvalidCursor):
            cursor_time(bad)
