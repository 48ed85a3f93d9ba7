"""Hostile input found by fuzzing the running registry: each is a 4xx problem+json on both
backends, never a driver error surfacing as a 500.

Cursors are opaque but client-held: a well-formed one carrying values no column can hold
(an int past the column's width, a naive or overflowing timestamp, a NUL, an empty
position) is a 400. A yank reason holding a NUL (PostgreSQL text cannot) is a 422."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.catalog.helpers import auth, published

TOO_BIG = 10**30
INT64_PAST = 2**63
INT32_PAST = 2**31  # every int sort key is an INTEGER column: 32 bits on PostgreSQL


def forge(position: list[Any]) -> str:
    """A cursor in the server's own encoding (base64url of a JSON list)."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).rstrip(b"=").decode()


FORGED_SEARCH = [
    ("downloads", ["downloads", TOO_BIG, 1]),
    ("downloads", ["downloads", 1, INT64_PAST]),
    ("downloads", ["downloads", -INT64_PAST - 1, 1]),
    ("downloads", ["downloads", INT32_PAST, 1]),
    ("downloads", ["downloads", 1, -INT32_PAST - 1]),
    ("updated", ["updated", "2026-01-01T00:00:00", 1]),  # naive
    ("updated", ["updated", "2026-01-01", 1]),  # a date, read as naive midnight
    ("updated", ["updated", "9999-12-31T23:59:59-05:00", 1]),  # past year 9999 in UTC
    ("updated", ["updated", "0001-01-01T00:00:00+05:00", 1]),  # before year 1 in UTC
    ("updated", ["updated", "2026-01-01T00:00:00+00:00", INT64_PAST]),
    ("name", ["name", "a", TOO_BIG]),
    ("name", ["name", "a\x00b", 1]),
    ("relevance", ["relevance", 1, 1, INT64_PAST]),
]


@pytest.mark.parametrize(("sort", "position"), FORGED_SEARCH)
async def test_forged_search_cursors_are_400(client, sort: str, position: list[Any]) -> None:
    await published(client, "demo", "1.0.0", tags="one")
    params = {
        "sort": sort,
        "cursor": forge(position),
        **({"q": "demo"} if sort == "relevance" else {}),
    }
    response = await client.get("/api/v1/skills", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_in_range_search_cursors_still_page(client) -> None:
    await published(client, "demo", "1.0.0")
    edge = forge(["downloads", INT32_PAST - 1, INT32_PAST - 1])
    response = await client.get("/api/v1/skills", params={"sort": "downloads", "cursor": edge})
    assert response.status_code == 200, response.text
    assert [item["name"] for item in response.json()["items"]] == ["demo"]
    aware = forge(["updated", "2999-01-01T00:00:00+05:00", INT32_PAST - 1])
    response = await client.get("/api/v1/skills", params={"sort": "updated", "cursor": aware})
    assert response.status_code == 200, response.text
    assert [item["name"] for item in response.json()["items"]] == ["demo"]


@pytest.mark.parametrize("position", [[], [1], ["1.0.0\x00"], ["1.0.0", "extra"], [None]])
async def test_forged_version_cursors_are_400(client, position: list[Any]) -> None:
    await published(client, "demo", "1.0.0")
    response = await client.get(
        "/api/v1/skills/alice/demo/versions", params={"cursor": forge(position)}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("reason", ["\x00", "broken\x00", "bad \x1b[31mred"])
async def test_yank_reason_with_control_characters_is_422(client, reason: str) -> None:
    await published(client, "demo", "1.0.0")
    response = await client.post(
        "/api/v1/skills/alice/demo/versions/1.0.0/yank",
        json={"reason": reason},
        headers=auth("alice"),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    version = (await client.get("/api/v1/skills/alice/demo/versions/1.0.0")).json()
    assert version["yanked"] is False
    multiline = await client.post(
        "/api/v1/skills/alice/demo/versions/1.0.0/yank",
        json={"reason": "broken:\n\tsee the changelog"},
        headers=auth("alice"),
    )
    assert multiline.status_code == 200, multiline.text
    assert multiline.json()["yank_reason"] == "broken:\n\tsee the changelog"
