"""API keys: shown once, stored hashed, scoped, revocable, expiring, both header styles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.apikeys.introspection import LocalIntrospector
from skreg_auth.apikeys.models import ApiKey
from skreg_auth.apikeys.service import hash_secret, parse_key
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.auth.conftest import AUTH, admin_headers, bearer, create_key, user_with_token

Client = AsyncTestClient[Litestar]


async def _me(client: Client, headers: Mapping[str, str] | Mapping[bytes, bytes]) -> Any:
    return await client.get(f"{AUTH}/me", headers=headers)


async def test_create_use_list_revoke(client: Client, db: async_sessionmaker[AsyncSession]) -> None:
    _, tokens = await user_with_token(client, "alice")
    session = bearer(tokens["access_token"])
    created = await create_key(client, session, ["read", "publish"], expires_in_days=30)
    key = created["key"]
    assert key.startswith(f"sr_{created['id']}_")
    assert parse_key(key) is not None
    assert created["scopes"] == ["read", "publish"]
    assert created["expires_at"] is not None

    # The secret is ≥ 256 bits and only its SHA-256 is stored.
    secret = key.rsplit("_", 1)[1]
    assert len(secret) * 5 >= 256
    async with db() as s:
        row = await s.get(ApiKey, created["id"])
        assert row is not None
        assert row.secret_hash == hash_secret(secret)
        assert secret not in (row.secret_hash, row.name, row.scopes)

    for headers in ({"X-API-Key": key}, bearer(key)):
        me = await _me(client, headers)
        assert me.status_code == 200
        assert me.json()["key_id"] == created["id"]
        assert me.json()["scopes"] == ["read", "publish"]

    listed = await client.get(f"{AUTH}/keys", headers=session)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert item["id"] == created["id"]
    assert "key" not in item
    assert secret not in listed.text
    assert item["last_used_at"] is not None

    revoked = await client.delete(f"{AUTH}/keys/{created['id']}", headers=session)
    assert revoked.status_code == 204
    assert (await _me(client, {"X-API-Key": key})).status_code == 401  # at once, cache or not
    assert (await client.get(f"{AUTH}/keys", headers=session)).json()["items"] == []
    again = await client.delete(f"{AUTH}/keys/{created['id']}", headers=session)
    assert again.status_code == 204


async def test_scopes_are_enforced(client: Client) -> None:
    _, tokens = await user_with_token(client, "bob")
    session = bearer(tokens["access_token"])
    read_only = (await create_key(client, session, ["read"]))["key"]
    publisher = (await create_key(client, session, ["read", "publish"]))["key"]

    assert (await client.get("/probe/publish", headers={"X-API-Key": read_only})).status_code == 403
    assert (await client.get("/probe/publish", headers={"X-API-Key": publisher})).status_code == 200
    assert (await client.get("/probe/yank", headers={"X-API-Key": publisher})).status_code == 403
    assert (await client.get("/probe/yank", headers=session)).status_code == 200
    assert (await client.get("/probe/publish")).status_code == 401

    # A key cannot mint a key that can do more than itself.
    manager = (await create_key(client, session, ["read", "keys"]))["key"]
    escalate = await client.post(
        f"{AUTH}/keys",
        headers={"X-API-Key": manager},
        json={"name": "more", "scopes": ["read", "publish"]},
    )
    assert escalate.status_code == 403
    narrower = await client.post(
        f"{AUTH}/keys", headers={"X-API-Key": manager}, json={"name": "less", "scopes": ["read"]}
    )
    assert narrower.status_code == 201

    # The admin scope is for admins only.
    admin_scope = await client.post(
        f"{AUTH}/keys", headers=session, json={"name": "x", "scopes": ["admin"]}
    )
    assert admin_scope.status_code == 403


async def test_an_admin_key_without_the_admin_scope_is_not_admin(client: Client) -> None:
    admin = await admin_headers(client)
    publisher = (await create_key(client, admin, ["read", "publish"]))["key"]
    assert (await client.get(f"{AUTH}/users", headers={"X-API-Key": publisher})).status_code == 403
    full = (await create_key(client, admin, ["read", "admin"]))["key"]
    assert (await client.get(f"{AUTH}/users", headers={"X-API-Key": full})).status_code == 200


async def test_invalid_key_requests_list_every_problem(client: Client) -> None:
    _, tokens = await user_with_token(client, "carol")
    response = await client.post(
        f"{AUTH}/keys",
        headers=bearer(tokens["access_token"]),
        json={"name": "", "scopes": ["read", "superuser"], "expires_in_days": 0},
    )
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"name", "scopes", "expires_in_days"}
    wrong_type = await client.post(
        f"{AUTH}/keys", headers=bearer(tokens["access_token"]), json={"name": 5, "scopes": "read"}
    )
    assert wrong_type.status_code == 400


async def test_expired_key_is_rejected(
    client: Client, db: async_sessionmaker[AsyncSession]
) -> None:
    _, tokens = await user_with_token(client, "dave")
    created = await create_key(client, bearer(tokens["access_token"]), ["read"], expires_in_days=1)
    async with db() as s, s.begin():
        await s.execute(
            update(ApiKey)
            .where(ApiKey.id == created["id"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert (await _me(client, {"X-API-Key": created["key"]})).status_code == 401


async def test_key_that_expires_soon_is_cached_no_longer_than_it_lives(
    client: Client, db: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    _, tokens = await user_with_token(client, "erin")
    created = await create_key(client, bearer(tokens["access_token"]), ["read"], expires_in_days=1)
    async with db() as s, s.begin():
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
        await s.execute(update(ApiKey).where(ApiKey.id == created["id"]).values(expires_at=soon))
    introspector = LocalIntrospector(
        engine, db, admin_username="admin", admin_api_key=None, cache_seconds=30
    )
    answer = await introspector.introspect(created["key"])
    assert answer.active
    assert answer.cache_seconds <= 3


async def test_malformed_and_unknown_keys(client: Client) -> None:
    _, tokens = await user_with_token(client, "frank")
    real = (await create_key(client, bearer(tokens["access_token"]), ["read"]))["key"]
    key_id = real.split("_")[1]
    for bogus in (
        "sr_",
        "sr_x_y",
        f"sr_{key_id}_{'a' * 52}",  # right id, wrong secret
        f"sr_{'a' * 16}_{'a' * 52}",  # unknown id
        real[:-1],
        real + "a",
        real.upper(),
        "\u00e9" * 60,
    ):
        raw = bogus.encode("latin-1")  # what a client can put in a header: bytes
        assert (await _me(client, {b"X-API-Key": raw})).status_code == 401, bogus


async def test_someone_elses_key_cannot_be_revoked(client: Client) -> None:
    _, alice = await user_with_token(client, "gina")
    _, bob = await user_with_token(client, "hank")
    key = await create_key(client, bearer(alice["access_token"]), ["read"])
    stolen = await client.delete(f"{AUTH}/keys/{key['id']}", headers=bearer(bob["access_token"]))
    assert stolen.status_code == 404
    assert (await _me(client, {"X-API-Key": key["key"]})).status_code == 200
    by_admin = await client.delete(f"{AUTH}/keys/{key['id']}", headers=await admin_headers(client))
    assert by_admin.status_code == 204
    assert (await _me(client, {"X-API-Key": key["key"]})).status_code == 401


async def test_key_count_is_limited(start_app: Any) -> None:
    async with start_app(max_keys_per_user=2) as client:
        _, tokens = await user_with_token(client, "ivan")
        session = bearer(tokens["access_token"])
        first = await create_key(client, session, ["read"])
        await create_key(client, session, ["read"])
        third = await client.post(
            f"{AUTH}/keys", headers=session, json={"name": "3", "scopes": ["read"]}
        )
        assert third.status_code == 409
        await client.delete(f"{AUTH}/keys/{first['id']}", headers=session)
        await create_key(client, session, ["read"])


async def test_lookup_is_one_indexed_query_by_key_id(
    client: Client, db: async_sessionmaker[AsyncSession]
) -> None:
    """The key id is the primary key: resolving never scans users or other keys."""
    _, tokens = await user_with_token(client, "judy")
    created = await create_key(client, bearer(tokens["access_token"]), ["read"])
    async with db() as s:
        found = await s.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
        assert found is not None
    assert [c.name for c in ApiKey.__mapper__.primary_key] == ["id"]


async def test_a_key_cannot_mint_a_key_that_outlives_it(client: Client) -> None:
    # Item 6: a one-day key minted a key that never expired.
    _, tokens = await user_with_token(client, "kate")
    session = bearer(tokens["access_token"])
    parent = await create_key(client, session, ["read", "keys"], expires_in_days=1)
    as_parent = {"X-API-Key": parent["key"]}
    forever = await create_key(client, as_parent, ["read"])
    assert forever["expires_at"] == parent["expires_at"]  # inherits the parent's end
    assert forever["parent_id"] == parent["id"]
    longer = await client.post(
        f"{AUTH}/keys",
        headers=as_parent,
        json={"name": "longer", "scopes": ["read"], "expires_in_days": 30},
    )
    assert longer.status_code == 422
    assert [e["path"] for e in longer.json()["errors"]] == ["expires_in_days"]
    # A signed-in session is not limited by any key.
    assert (await create_key(client, session, ["read"]))["expires_at"] is None


async def test_revoking_a_key_revokes_the_keys_it_minted(client: Client) -> None:
    # Item 6: minted keys outlived their parent's revocation.
    _, tokens = await user_with_token(client, "liam")
    session = bearer(tokens["access_token"])
    parent = await create_key(client, session, ["read", "keys"])
    child = await create_key(client, {"X-API-Key": parent["key"]}, ["read", "keys"])
    grandchild = await create_key(client, {"X-API-Key": child["key"]}, ["read"])
    sibling = await create_key(client, session, ["read"])
    assert (await client.delete(f"{AUTH}/keys/{parent['id']}", headers=session)).status_code == 204
    for gone in (parent, child, grandchild):
        assert (await _me(client, {"X-API-Key": gone["key"]})).status_code == 401
    assert (await _me(client, {"X-API-Key": sibling["key"]})).status_code == 200
    listed = (await client.get(f"{AUTH}/keys", headers=session)).json()["items"]
    assert [k["id"] for k in listed] == [sibling["id"]]


async def test_key_management_needs_the_keys_scope(client: Client) -> None:
    # Item 8: a read-only key revoked the owner's other keys.
    _, tokens = await user_with_token(client, "mona")
    session = bearer(tokens["access_token"])
    read_only = await create_key(client, session, ["read"])
    other = await create_key(client, session, ["read", "publish"])
    as_reader = {"X-API-Key": read_only["key"]}
    assert (await client.delete(f"{AUTH}/keys/{other['id']}", headers=as_reader)).status_code == 403
    assert (await _me(client, {"X-API-Key": other["key"]})).status_code == 200
    assert (await client.get(f"{AUTH}/keys", headers=as_reader)).status_code == 403
    minted = await client.post(
        f"{AUTH}/keys", headers=as_reader, json={"name": "x", "scopes": ["read"]}
    )
    assert minted.status_code == 403
    # A key may always revoke itself (`skreg logout` does).
    own = await client.delete(f"{AUTH}/keys/{read_only['id']}", headers=as_reader)
    assert own.status_code == 204
    assert (await _me(client, as_reader)).status_code == 401
    # With the keys scope a key manages keys, but never grants `keys` it lacks.
    manager = {"X-API-Key": (await create_key(client, session, ["read", "keys"]))["key"]}
    assert (await client.get(f"{AUTH}/keys", headers=manager)).status_code == 200
    assert (await client.delete(f"{AUTH}/keys/{other['id']}", headers=manager)).status_code == 204
