"""Register, log in, refresh, log out, change password: the happy paths and their edges."""

from __future__ import annotations

import time

from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.context import AuthContext

from tests.auth.conftest import (
    AUTH,
    PASSWORD,
    AppFactory,
    admin_headers,
    bearer,
    login,
    register,
    user_with_token,
)

Client = AsyncTestClient[Litestar]


async def test_register_login_me(client: Client) -> None:
    user = await register(client, "Alice", email="Alice@Example.com")
    assert user["username"] == "alice"  # usernames are case-insensitive, stored lower-case
    assert user["role"] == "user"
    assert "password" not in str(user).lower()

    tokens = await login(client, "ALICE")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["user"] == {**tokens["user"], "id": user["id"], "username": "alice"}
    assert tokens["refresh_token"].startswith("rt_")

    me = await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user["id"]
    assert me.json()["roles"] == ["user"]
    assert me.json()["scopes"] == ["read", "publish", "yank", "keys"]

    by_email = await login(client, "alice@EXAMPLE.com")
    assert by_email["user"]["id"] == user["id"]

    account = await client.get(f"{AUTH}/account", headers=bearer(tokens["access_token"]))
    assert account.json()["email"] == "Alice@Example.com"


async def test_registration_lists_every_problem(client: Client) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"username": "-bad name", "email": "nope", "password": "short"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {e["path"] for e in response.json()["errors"]} == {"username", "email", "password"}

    too_long = await client.post(
        f"{AUTH}/register", json={"username": "bob", "email": "b@x.io", "password": "p" * 1025}
    )
    assert too_long.status_code == 422
    assert [e["path"] for e in too_long.json()["errors"]] == ["password"]
    for name in ("a", "x" * 40, "_lead", "ümlaut", "has space", "nul\x00"):
        bad = await client.post(
            f"{AUTH}/register", json={"username": name, "email": "b@x.io", "password": PASSWORD}
        )
        assert bad.status_code == 422, name


async def test_usernames_and_emails_are_unique_ignoring_case(client: Client) -> None:
    await register(client, "carol", email="carol@example.com")
    same_name = await client.post(
        f"{AUTH}/register",
        json={"username": "CAROL", "email": "other@example.com", "password": PASSWORD},
    )
    assert same_name.status_code == 409
    assert [e["path"] for e in same_name.json()["errors"]] == ["username"]
    same_email = await client.post(
        f"{AUTH}/register",
        json={"username": "carol2", "email": "Carol@EXAMPLE.com", "password": PASSWORD},
    )
    assert same_email.status_code == 409
    assert [e["path"] for e in same_email.json()["errors"]] == ["email"]


async def test_closed_registration_only_lets_admins_create_users(start_app: AppFactory) -> None:
    async with start_app(registration_open=False) as client:
        closed = await client.post(
            f"{AUTH}/register", json={"username": "dave", "email": "d@x.io", "password": PASSWORD}
        )
        assert closed.status_code == 403
        by_admin = await client.post(
            f"{AUTH}/register",
            headers=await admin_headers(client),
            json={"username": "dave", "email": "d@x.io", "password": PASSWORD},
        )
        assert by_admin.status_code == 201


async def test_refresh_rotates_and_the_new_token_works(client: Client) -> None:
    user, tokens = await user_with_token(client, "erin")
    first = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["user"]["id"] == user["id"]
    second = await client.post(f"{AUTH}/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert second.status_code == 200
    me = await client.get(f"{AUTH}/me", headers=bearer(second.json()["access_token"]))
    assert me.status_code == 200


async def test_refresh_token_reuse_revokes_the_whole_session(client: Client) -> None:
    _, tokens = await user_with_token(client, "frank")
    rotated = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    successor = rotated.json()

    # The first token is presented again: it leaked. The whole family dies, at once.
    replay = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    after = await client.post(f"{AUTH}/refresh", json={"refresh_token": successor["refresh_token"]})
    assert after.status_code == 401
    for access in (tokens["access_token"], successor["access_token"]):
        assert (await client.get(f"{AUTH}/me", headers=bearer(access))).status_code == 401

    # Another session of the same user is untouched.
    other = await login(client, "frank")
    assert (
        await client.get(f"{AUTH}/me", headers=bearer(other["access_token"]))
    ).status_code == 200

    audit = await client.get(
        f"{AUTH}/audit?action=session.reuse_detected", headers=await admin_headers(client)
    )
    assert len(audit.json()["items"]) == 1


async def test_concurrent_use_of_one_refresh_token_is_a_reuse(client: Client) -> None:
    import asyncio

    _, tokens = await user_with_token(client, "racer")
    body = {"refresh_token": tokens["refresh_token"]}
    results = await asyncio.gather(
        client.post(f"{AUTH}/refresh", json=body), client.post(f"{AUTH}/refresh", json=body)
    )
    assert sorted(r.status_code for r in results) == [200, 401]
    winner = next(r for r in results if r.status_code == 200).json()
    # The loser revealed a second use: the winner's new token dies with the family.
    after = await client.post(f"{AUTH}/refresh", json={"refresh_token": winner["refresh_token"]})
    assert after.status_code == 401


async def test_garbage_refresh_tokens_are_401(client: Client) -> None:
    for token in ("", "rt_short", "rt_" + "A" * 43, "x" * 5000, "rt_" + "\x00" * 43):
        response = await client.post(f"{AUTH}/refresh", json={"refresh_token": token})
        assert response.status_code == 401, token


async def test_logout_revokes_the_session(client: Client) -> None:
    _, tokens = await user_with_token(client, "gina")
    out = await client.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    again = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    assert (
        await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401


async def test_logout_works_with_an_expired_access_token(
    client: Client, auth_context: AuthContext
) -> None:
    user, tokens = await user_with_token(client, "late")
    issuer = auth_context.issuer
    stale = issuer.access_token(
        user_id=user["id"], username="late", role="user", token_version=0, session_id="x",
        now=time.time() - 3600,
    )  # fmt: skip
    out = await client.post(
        f"{AUTH}/logout", headers=bearer(stale), json={"refresh_token": tokens["refresh_token"]}
    )
    assert out.status_code == 204
    again = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


async def test_logout_with_only_the_access_token(client: Client) -> None:
    _, tokens = await user_with_token(client, "hank")
    out = await client.post(f"{AUTH}/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 204
    refreshed = await client.post(
        f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    nothing = await client.post(f"{AUTH}/logout")
    assert nothing.status_code == 400


async def test_expired_access_token_is_rejected(client: Client, auth_context: AuthContext) -> None:
    user, tokens = await user_with_token(client, "ivan")
    issuer = auth_context.issuer
    stale = issuer.access_token(
        user_id=user["id"],
        username="ivan",
        role="user",
        token_version=0,
        session_id="s",
        now=time.time() - 3600,
    )
    response = await client.get(f"{AUTH}/me", headers=bearer(stale))
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    assert response.headers["www-authenticate"] == "Bearer"
    fresh = await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))
    assert fresh.status_code == 200


async def test_change_password_ends_other_sessions(client: Client) -> None:
    _, tokens = await user_with_token(client, "judy")
    other = await login(client, "judy")
    wrong = await client.post(
        f"{AUTH}/account/password",
        headers=bearer(tokens["access_token"]),
        json={"current_password": "not-my-password", "new_password": "another-long-one"},
    )
    assert wrong.status_code == 422
    changed = await client.post(
        f"{AUTH}/account/password",
        headers=bearer(tokens["access_token"]),
        json={"current_password": PASSWORD, "new_password": "another-long-one"},
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert (
        await client.get(f"{AUTH}/me", headers=bearer(fresh["access_token"]))
    ).status_code == 200
    for old in (tokens["access_token"], other["access_token"]):
        assert (await client.get(f"{AUTH}/me", headers=bearer(old))).status_code == 401
    old_refresh = await client.post(
        f"{AUTH}/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert old_refresh.status_code == 401
    assert (
        await client.post(f"{AUTH}/login", json={"username": "judy", "password": PASSWORD})
    ).status_code == 401
    await login(client, "judy", "another-long-one")


async def test_jwks_publishes_the_signing_key(client: Client) -> None:
    response = await client.get(f"{AUTH}/jwks")
    assert response.status_code == 200
    assert "public" in response.headers["cache-control"]
    (key,) = response.json()["keys"]
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert key["alg"] == "EdDSA"
    assert "d" not in key  # never the private part
    tokens = await login(client, "admin", "admin-password-1")
    import jwt

    assert jwt.get_unverified_header(tokens["access_token"])["kid"] == key["kid"]


async def test_token_responses_are_not_cached(client: Client) -> None:
    await register(client, "kate")
    response = await client.post(f"{AUTH}/login", json={"username": "kate", "password": PASSWORD})
    assert response.headers["cache-control"] == "no-store"
