"""Every auth endpoint answers hostile input with a 4xx problem+json, never a 500."""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.auth.conftest import AUTH, admin_headers, bearer, create_key, user_with_token

Client = AsyncTestClient[Litestar]

NASTY_STRINGS = [
    "",
    "\x00",
    "a\x00b@example.com",
    "\ud800",
    "‮admin",
    "' OR 1=1 --",
    "%",
    "_",
    "a" * 60_000,
    "😀" * 100,
    "\n\r\t",
]
NASTY_VALUES: list[Any] = [*NASTY_STRINGS, None, 0, -1, 2**70, 1.5, True, [], {}, ["read"] * 1000]


def _bodies(fields: list[str]) -> list[bytes]:
    bodies = [b"", b"{", b"null", b"[]", b'"x"', b"{}", b"\xff\xfe", b'{"a":' * 5000]
    for field in fields:
        for value in NASTY_VALUES:
            template: dict[str, Any] = dict.fromkeys(fields, "ok-value-123")
            template[field] = value
            bodies.append(json.dumps(template).encode("utf-8", "surrogatepass"))
    return bodies


async def _assert_4xx(
    client: Client, method: str, path: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await client.request(
        method, path, content=body, headers={"content-type": "application/json", **headers}
    )
    assert 400 <= response.status_code < 500 or response.status_code in (200, 201, 204), (
        path,
        body[:80],
        response.status_code,
        response.text[:200],
    )
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_hostile_bodies_never_cause_a_500(client: Client) -> None:
    admin = await admin_headers(client)
    user, tokens = await user_with_token(client, "target")
    session = bearer(tokens["access_token"])
    endpoints = [
        ("POST", f"{AUTH}/register", ["username", "email", "password"], {}),
        ("POST", f"{AUTH}/login", ["username", "password"], {}),
        ("POST", f"{AUTH}/refresh", ["refresh_token"], {}),
        ("POST", f"{AUTH}/logout", ["refresh_token"], session),
        ("POST", f"{AUTH}/keys", ["name", "scopes", "expires_in_days"], session),
        ("PATCH", f"{AUTH}/users/{user['id']}", ["role", "disabled"], admin),
        ("POST", f"{AUTH}/account/password", ["current_password", "new_password"], session),
        ("POST", "/internal/v1/auth/service-token", ["service", "secret"], {}),
    ]
    for method, path, fields, headers in endpoints:
        for body in _bodies(fields):
            await _assert_4xx(client, method, path, body, headers)


async def test_hostile_paths_and_queries(client: Client) -> None:
    admin = await admin_headers(client)
    _, tokens = await user_with_token(client, "victim")
    await create_key(client, bearer(tokens["access_token"]), ["read"])
    expected = {
        f"{AUTH}/users/%00": 404,
        f"{AUTH}/users/{'x' * 5000}": 404,
        f"{AUTH}/users/..%2F..%2Fetc": 404,
        f"{AUTH}/users?limit=-5": 200,  # limits are clamped into range, not refused
        f"{AUTH}/users?limit=99999999999999999999999": 200,
        f"{AUTH}/users?cursor={'A' * 5000}": 400,
        f"{AUTH}/users?q=%00": 400,
        f"{AUTH}/users?disabled=maybe": 400,
        f"{AUTH}/audit?action=%00": 400,
        f"{AUTH}/audit?cursor=WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwXQ": 400,
        f"{AUTH}/audit?limit=0": 200,
    }
    for path, status in expected.items():
        response = await client.get(path, headers=admin)
        assert response.status_code == status, (path, response.status_code, response.text[:200])
        if status >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
        else:
            assert response.json()["items"], path  # a clamped page, not an empty accident
    for key_id in ("%00", "x" * 5000, "..%2F"):
        response = await client.delete(
            f"{AUTH}/keys/{key_id}", headers=bearer(tokens["access_token"])
        )
        assert response.status_code == 404, key_id
    # Nothing was half-written by any of it: the user can still do everything.
    assert (await client.get(f"{AUTH}/keys", headers=bearer(tokens["access_token"]))).json()[
        "total"
    ] == 1
