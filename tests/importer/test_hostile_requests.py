"""Hostile input found by fuzzing the running registry: each is a 400 problem+json on both
backends, never a driver error surfacing as a 500 (PostgreSQL refuses NUL in text and
naive timestamps in UTC columns; SQLite answered these with a 404 or a 200).

Sources and runs are paged by (created_at, id) cursors: forged ones whose timestamp is
naive or overflows, or whose id holds a NUL, are refused; so is a NUL in any id or filter."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.importer.conftest import IMPORTS, SOURCES, Stack


def forge(position: list[Any]) -> str:
    """A cursor in the server's own encoding (base64url of a JSON list)."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).rstrip(b"=").decode()


FORGED = [
    ["2026-01-01T00:00:00", "x"],  # naive: would reach the UTC column and be refused there
    ["2026-01-01", "x"],
    ["9999-12-31T23:59:59-05:00", "x"],  # past year 9999 once in UTC
    ["0001-01-01T00:00:00+05:00", "x"],  # before year 1 once in UTC
    ["2026-01-01T00:00:00+00:00", "a\x00b"],  # PostgreSQL text cannot hold NUL
    ["2026-01-01T00:00:00+00:00", 5],
    ["2026-01-01T00:00:00+00:00", None],
    [20260101, "x"],
]


@pytest.mark.parametrize("path", [SOURCES, IMPORTS])
async def test_forged_cursors_are_400(stack: Stack, path: str) -> None:
    for position in FORGED:
        response = await stack.client.get(path, params={"cursor": forge(position)})
        assert response.status_code == 400, (position, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    fine = await stack.client.get(path, params={"cursor": forge(["2999-01-01T00:00:00Z", "x"])})
    assert fine.status_code == 200, fine.text


async def test_nul_in_ids_and_filters_is_400(stack: Stack) -> None:
    source = await stack.add_source("https://example.com/team/skills.git")
    for bad_id in ("%00", "a%00b"):
        for method, path in (
            ("GET", f"{SOURCES}/{bad_id}"),
            ("PATCH", f"{SOURCES}/{bad_id}"),
            ("DELETE", f"{SOURCES}/{bad_id}"),
            ("POST", f"{SOURCES}/{bad_id}/sync"),
            ("POST", f"{SOURCES}/{bad_id}/webhook"),
            ("GET", f"{IMPORTS}/{bad_id}"),
            ("GET", f"{IMPORTS}?source_id={bad_id}"),
        ):
            response = await stack.client.request(method, path, json={})
            assert response.status_code == 400, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    # Nothing was removed, and the real id still works.
    kept = await stack.client.get(f"{SOURCES}/{source['id']}")
    assert kept.status_code == 200, kept.text
