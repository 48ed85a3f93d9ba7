"""Admins: the seed admin, user management, lock-out, the last-admin guard, the audit log."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.users.models import User
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.auth.conftest import (
    ADMIN_PASSWORD,
    AUTH,
    PASSWORD,
    AppFactory,
    admin_headers,
    bearer,
    create_key,
    login,
    register,
    user_with_token,
)

Client = AsyncTestClient[Litestar]
ADMIN_KEY = "an-admin-api-key-from-the-environment-0123456789"


async def _admins(db: async_sessionmaker[AsyncSession]) -> list[User]:
    async with db() as s:
        return list((await s.scalars(select(User).where(User.role == "admin"))).all())


async def test_bootstrap_is_idempotent_across_restarts(
    start_app: AppFactory, db: async_sessionmaker[AsyncSession]
) -> None:
    async with start_app() as client:
        await login(client, "admin", ADMIN_PASSWORD)
    (first,) = await _admins(db)
    # A restart with other seed values neither duplicates nor overwrites the admin.
    async with start_app(admin_password="a-different-password", admin_email="x@y.z") as client:
        await login(client, "admin", ADMIN_PASSWORD)
        refused = await client.post(
            f"{AUTH}/login", json={"username": "admin", "password": "a-different-password"}
        )
        assert refused.status_code == 401
    (again,) = await _admins(db)
    assert (again.id, again.email, again.password_hash) == (
        first.id,
        first.email,
        first.password_hash,
    )
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1
    # A new ADMIN_USERNAME creates that admin too.
    async with start_app(admin_username="root", admin_email="root@example.com") as client:
        await login(client, "root", ADMIN_PASSWORD)
    assert {u.username for u in await _admins(db)} == {"admin", "root"}


async def test_admin_api_key_from_the_environment(start_app: AppFactory) -> None:
    async with start_app(admin_api_key=ADMIN_KEY) as client:
        for headers in ({"X-API-Key": ADMIN_KEY}, bearer(ADMIN_KEY)):
            me = await client.get(f"{AUTH}/me", headers=headers)
            assert me.status_code == 200
            assert me.json()["username"] == "admin"
            assert "admin" in me.json()["scopes"]
        assert (
            await client.get(f"{AUTH}/users", headers={"X-API-Key": ADMIN_KEY})
        ).status_code == 200
        near_miss = ADMIN_KEY[:-1] + "X"
        assert (await client.get(f"{AUTH}/me", headers={"X-API-Key": near_miss})).status_code == 401
    # Unsetting the variable revokes it.
    async with start_app() as client:
        assert (await client.get(f"{AUTH}/me", headers={"X-API-Key": ADMIN_KEY})).status_code == 401


async def test_users_list_filter_and_page(client: Client) -> None:
    admin = await admin_headers(client)
    for name in ("ann", "ben", "cal", "dan", "eve"):
        await register(client, name, email=f"{name}@corp.example")
    page = await client.get(f"{AUTH}/users?limit=2", headers=admin)
    assert page.status_code == 200
    body = page.json()
    assert [u["username"] for u in body["items"]] == ["admin", "ann"]
    assert body["total"] == 6
    seen = [u["username"] for u in body["items"]]
    while body["next_cursor"]:
        body = (
            await client.get(f"{AUTH}/users?limit=2&cursor={body['next_cursor']}", headers=admin)
        ).json()
        seen += [u["username"] for u in body["items"]]
    assert seen == ["admin", "ann", "ben", "cal", "dan", "eve"]

    found = (await client.get(f"{AUTH}/users?q=CORP.EX", headers=admin)).json()
    assert found["total"] == 5
    assert (await client.get(f"{AUTH}/users?q=%25", headers=admin)).json()["total"] == 0
    admins = (await client.get(f"{AUTH}/users?role=admin", headers=admin)).json()
    assert [u["username"] for u in admins["items"]] == ["admin"]
    for bad in ("cursor=%%%", "cursor=WzFd", "role=root", "limit=abc", "q=%00"):
        response = await client.get(f"{AUTH}/users?{bad}", headers=admin)
        assert response.status_code == 400, bad
    one = await client.get(f"{AUTH}/users/{admins['items'][0]['id']}", headers=admin)
    assert one.json()["username"] == "admin"
    assert (await client.get(f"{AUTH}/users/nope", headers=admin)).status_code == 404


async def test_non_admins_are_refused(client: Client) -> None:
    user, tokens = await user_with_token(client, "pleb")
    headers = bearer(tokens["access_token"])
    assert (await client.get(f"{AUTH}/users", headers=headers)).status_code == 403
    assert (await client.get(f"{AUTH}/audit", headers=headers)).status_code == 403
    patch = await client.patch(
        f"{AUTH}/users/{user['id']}", headers=headers, json={"role": "admin"}
    )
    assert patch.status_code == 403
    assert (await client.get(f"{AUTH}/users")).status_code == 401


async def test_role_change_takes_effect_at_once(client: Client) -> None:
    admin = await admin_headers(client)
    user, tokens = await user_with_token(client, "promoted")
    promoted = await client.patch(
        f"{AUTH}/users/{user['id']}", headers=admin, json={"role": "admin"}
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    # The old token says "user": it is void; a refreshed one carries the new role.
    assert (
        await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    refreshed = await client.post(
        f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new_headers = bearer(refreshed.json()["access_token"])
    assert (await client.get(f"{AUTH}/users", headers=new_headers)).status_code == 200
    bad_role = await client.patch(
        f"{AUTH}/users/{user['id']}", headers=admin, json={"role": "root"}
    )
    assert bad_role.status_code == 422


async def test_disabled_user_is_locked_out_everywhere(client: Client) -> None:
    admin = await admin_headers(client)
    user, tokens = await user_with_token(client, "mallory")
    session = bearer(tokens["access_token"])
    key = (await create_key(client, session, ["read", "publish"]))["key"]
    # Warm every cache first, so the lock-out cannot be explained by a cold one.
    assert (await client.get("/probe/publish", headers={"X-API-Key": key})).status_code == 200
    assert (await client.get("/probe/publish", headers=session)).status_code == 200

    disabled = await client.patch(
        f"{AUTH}/users/{user['id']}", headers=admin, json={"disabled": True}
    )
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True

    assert (await client.get("/probe/publish", headers={"X-API-Key": key})).status_code == 401
    assert (await client.get("/probe/publish", headers=session)).status_code == 401
    assert (await client.get(f"{AUTH}/me", headers=session)).status_code == 401
    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    relogin = await client.post(f"{AUTH}/login", json={"username": "mallory", "password": PASSWORD})
    assert relogin.status_code == 401

    enabled = await client.patch(
        f"{AUTH}/users/{user['id']}", headers=admin, json={"disabled": False}
    )
    assert enabled.json()["disabled"] is False
    fresh = await login(client, "mallory")
    assert (
        await client.get(f"{AUTH}/me", headers=bearer(fresh["access_token"]))
    ).status_code == 200
    assert (await client.get(f"{AUTH}/me", headers={"X-API-Key": key})).status_code == 200
    # Tokens from before the lock-out stay dead.
    assert (await client.get(f"{AUTH}/me", headers=session)).status_code == 401


async def test_the_last_admin_cannot_be_removed(client: Client) -> None:
    admin = await admin_headers(client)
    me = (await client.get(f"{AUTH}/me", headers=admin)).json()
    for change in ({"role": "user"}, {"disabled": True}):
        refused = await client.patch(f"{AUTH}/users/{me['id']}", headers=admin, json=change)
        assert refused.status_code == 409, change
    # Still an admin with a working token: nothing was half-applied.
    assert (await client.get(f"{AUTH}/users", headers=admin)).status_code == 200

    other = await register(client, "deputy")
    await client.patch(f"{AUTH}/users/{other['id']}", headers=admin, json={"role": "admin"})
    demoted = await client.patch(f"{AUTH}/users/{me['id']}", headers=admin, json={"role": "user"})
    assert demoted.status_code == 200
    deputy = bearer((await login(client, "deputy"))["access_token"])
    refused = await client.patch(
        f"{AUTH}/users/{other['id']}", headers=deputy, json={"disabled": True}
    )
    assert refused.status_code == 409


async def test_concurrent_demotions_leave_an_admin(client: Client) -> None:
    import asyncio

    admin = await admin_headers(client)
    me = (await client.get(f"{AUTH}/me", headers=admin)).json()
    other = await register(client, "second")
    await client.patch(f"{AUTH}/users/{other['id']}", headers=admin, json={"role": "admin"})
    second = bearer((await login(client, "second"))["access_token"])
    results = await asyncio.gather(
        client.patch(f"{AUTH}/users/{other['id']}", headers=admin, json={"role": "user"}),
        client.patch(f"{AUTH}/users/{me['id']}", headers=second, json={"role": "user"}),
    )
    codes = sorted(r.status_code for r in results)
    assert codes in ([200, 409], [200, 401])  # the loser is refused, or already demoted
    users = await client.get(f"{AUTH}/users?role=admin", headers=await admin_headers(client))
    remaining = users.json()["items"] if users.status_code == 200 else []
    if not remaining:  # the seed admin lost: the other one must still be admin
        second_login = bearer((await login(client, "second"))["access_token"])
        remaining = (await client.get(f"{AUTH}/users?role=admin", headers=second_login)).json()[
            "items"
        ]
    assert len(remaining) == 1


def _actions(items: list[dict[str, Any]]) -> list[str]:
    return [item["action"] for item in items]


async def test_audit_log_records_who_did_what(client: Client) -> None:
    admin = await admin_headers(client)
    user, tokens = await user_with_token(client, "audited")
    await client.post(f"{AUTH}/login", json={"username": "audited", "password": "wrong-password"})
    await client.post(f"{AUTH}/login", json={"username": "ghost", "password": "wrong-password"})
    key = await create_key(client, bearer(tokens["access_token"]), ["read"])
    await client.delete(f"{AUTH}/keys/{key['id']}", headers=bearer(tokens["access_token"]))
    await client.patch(f"{AUTH}/users/{user['id']}", headers=admin, json={"role": "admin"})
    await client.patch(f"{AUTH}/users/{user['id']}", headers=admin, json={"disabled": True})
    await client.patch(f"{AUTH}/users/{user['id']}", headers=admin, json={"disabled": False})

    log = (await client.get(f"{AUTH}/audit?limit=100", headers=admin)).json()["items"]
    actions = _actions(log)
    for expected in (
        "admin.bootstrapped",
        "user.registered",
        "login.succeeded",
        "login.failed",
        "key.created",
        "key.revoked",
        "user.role_changed",
        "user.disabled",
        "user.enabled",
    ):
        assert expected in actions, expected
    assert [e["id"] for e in log] == sorted((e["id"] for e in log), reverse=True)
    failures = [e for e in log if e["action"] == "login.failed"]
    assert {e["details"]["reason"] for e in failures} == {"wrong_password", "unknown_user"}
    assert all(e["outcome"] == "failure" and e["client_ip"] for e in failures)
    role = next(e for e in log if e["action"] == "user.role_changed")
    assert role["target_id"] == user["id"]
    assert role["actor_name"] == "admin"
    assert role["details"] == {"from": "user", "to": "admin"}
    revoked = next(e for e in log if e["action"] == "key.revoked")
    assert (revoked["actor_id"], revoked["target_id"]) == (user["id"], key["id"])

    only = (await client.get(f"{AUTH}/audit?action=key.created", headers=admin)).json()["items"]
    assert _actions(only) == ["key.created"]
    by_target = (await client.get(f"{AUTH}/audit?target_id={user['id']}", headers=admin)).json()
    assert "user.disabled" in _actions(by_target["items"])
    paged = (await client.get(f"{AUTH}/audit?limit=2", headers=admin)).json()
    rest = (
        await client.get(f"{AUTH}/audit?limit=100&cursor={paged['next_cursor']}", headers=admin)
    ).json()
    assert [e["id"] for e in paged["items"] + rest["items"]] == [e["id"] for e in log]
    assert (await client.get(f"{AUTH}/audit?cursor=WzFlMzBd", headers=admin)).status_code == 400


async def test_the_embedded_default_seed_admin_works(start_app: AppFactory) -> None:
    """Dev defaults (ADMIN_PASSWORD=admin123, ADMIN_EMAIL=admin@localhost) start and log in."""
    async with start_app(admin_password="admin123", admin_email="admin@localhost") as client:
        tokens = await login(client, "admin", "admin123")
        assert tokens["user"]["role"] == "admin"
        assert tokens["user"]["email"] == "admin@localhost"
