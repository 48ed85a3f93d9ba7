"""Login hardening: one answer for every failure, throttling with Retry-After, rehashing."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.context import AuthContext
from skreg_auth.passwords import Passwords
from skreg_auth.users.models import User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.auth.conftest import (
    AUTH,
    PASSWORD,
    AppFactory,
    admin_headers,
    login,
    register,
)

Client = AsyncTestClient[Litestar]


class CountingPasswords(Passwords):
    """Counts argon2 verifications, to show that every failure does the same work."""

    checks = 0

    async def _check(self, stored: str, password: str) -> bool:
        type(self).checks += 1
        return await super()._check(stored, password)


def _comparable(response: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    headers = {
        k: v for k, v in response.headers.items() if k not in {"x-request-id", "content-length"}
    }
    return response.status_code, body, headers


async def test_unknown_user_wrong_password_and_disabled_look_the_same(
    client: Client, auth_context: AuthContext
) -> None:
    admin = await admin_headers(client)
    await register(client, "known")
    disabled = await register(client, "locked")
    await client.patch(f"{AUTH}/users/{disabled['id']}", headers=admin, json={"disabled": True})

    auth_context.passwords.__class__ = CountingPasswords  # count the real argon2 checks
    attempts = {
        "unknown": {"username": "nobody-here", "password": PASSWORD},
        "wrong": {"username": "known", "password": "not-the-password"},
        "disabled": {"username": "locked", "password": PASSWORD},
        "unknown_email": {"username": "nobody@example.com", "password": PASSWORD},
        "too_long": {"username": "known", "password": "x" * 5000},
        "nul": {"username": "kno\x00wn", "password": PASSWORD},
    }
    answers = {}
    for label, body in attempts.items():
        before = CountingPasswords.checks
        response = await client.post(f"{AUTH}/login", json=body)
        answers[label] = _comparable(response)
        assert CountingPasswords.checks == before + 1, label  # one argon2 check every time
    first = answers["unknown"]
    assert first[0] == 401
    assert first[1]["detail"] == "invalid username or password"
    for label, answer in answers.items():
        assert answer == first, label


async def test_throttled_per_account_with_retry_after(start_app: AppFactory) -> None:
    async with start_app(login_max_failures=3, login_window=600) as client:
        await register(client, "target")
        for _ in range(3):
            wrong = await client.post(
                f"{AUTH}/login", json={"username": "target", "password": "nope-nope-nope"}
            )
            assert wrong.status_code == 401
        # Even the right password is refused now: the account is throttled.
        blocked = await client.post(
            f"{AUTH}/login", json={"username": "target", "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["retry-after"]) <= 600
        assert blocked.headers["content-type"].startswith("application/problem+json")
        # The same account by email is the same account.
        by_email = await client.post(
            f"{AUTH}/login", json={"username": "target@example.com", "password": PASSWORD}
        )
        assert by_email.status_code == 429


async def test_throttled_per_client_address(start_app: AppFactory) -> None:
    async with start_app(
        login_max_failures=3, login_window=600, trusted_proxies="testclient"
    ) as client:
        await register(client, "someone")
        attacker = {"X-Forwarded-For": "203.0.113.7"}
        for n in range(3):
            response = await client.post(
                f"{AUTH}/login",
                headers=attacker,
                json={"username": f"guess{n}", "password": "x" * 10},
            )
            assert response.status_code == 401
        blocked = await client.post(
            f"{AUTH}/login", headers=attacker, json={"username": "someone", "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        # Another address is not affected, and a spoofed extra hop does not help the attacker.
        other = await client.post(
            f"{AUTH}/login",
            headers={"X-Forwarded-For": "198.51.100.9"},
            json={"username": "someone", "password": PASSWORD},
        )
        assert other.status_code == 200
        spoofed = await client.post(
            f"{AUTH}/login",
            headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7"},
            json={"username": "someone", "password": PASSWORD},
        )
        assert spoofed.status_code == 429


async def test_ipv6_addresses_of_one_64_share_the_address_budget(start_app: AppFactory) -> None:
    # One IPv6 host holds a whole /64: a fresh address per guess must not buy fresh budgets.
    async with start_app(
        login_max_failures=3, login_window=600, trusted_proxies="testclient"
    ) as client:
        await register(client, "someone")
        for n in range(3):
            response = await client.post(
                f"{AUTH}/login",
                headers={"X-Forwarded-For": f"2001:db8:5:6::{n + 1:x}"},
                json={"username": f"guess{n}", "password": "x" * 10},
            )
            assert response.status_code == 401
        blocked = await client.post(
            f"{AUTH}/login",
            headers={"X-Forwarded-For": "2001:db8:5:6:ffff:1:2:3"},
            json={"username": "someone", "password": PASSWORD},
        )
        assert blocked.status_code == 429
        neighbour = await client.post(
            f"{AUTH}/login",
            headers={"X-Forwarded-For": "2001:db8:5:7::1"},
            json={"username": "someone", "password": PASSWORD},
        )
        assert neighbour.status_code == 200


async def test_throttling_is_shared_through_redis(start_app: AppFactory, redis_url: str) -> None:
    settings = {"login_max_failures": 2, "login_window": 600, "redis_url": redis_url}
    async with start_app(**settings) as client:
        await register(client, "shared")
        for _ in range(2):
            await client.post(
                f"{AUTH}/login", json={"username": "shared", "password": "wrong-wrong"}
            )
    # A second replica (a new process, same Redis) sees the same count.
    async with start_app(**settings) as other_replica:
        blocked = await other_replica.post(
            f"{AUTH}/login", json={"username": "shared", "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1


async def test_a_success_resets_the_account_count(start_app: AppFactory) -> None:
    async with start_app(
        login_max_failures=3, login_window=600, trusted_proxies="testclient"
    ) as client:
        await register(client, "forgetful")
        wrong = {"username": "forgetful", "password": "nope-nope"}
        for n in range(4):  # from distinct addresses, so only the account count matters
            if n == 2:
                await login(client, "forgetful")
            ip = {"X-Forwarded-For": f"192.0.2.{n}"}
            assert (await client.post(f"{AUTH}/login", headers=ip, json=wrong)).status_code == 401
        await login(client, "forgetful")


async def test_password_is_rehashed_when_parameters_change(
    start_app: AppFactory, db: async_sessionmaker[AsyncSession]
) -> None:
    async with start_app() as client:
        await register(client, "rehash")
    async with db() as s:
        before = await s.scalar(select(User.password_hash).where(User.username == "rehash"))
    assert before is not None
    assert before.startswith("$argon2id$")
    assert "t=1" in before
    async with start_app(argon2_time_cost=2) as client:
        tokens = await login(client, "rehash")
        assert tokens["user"]["username"] == "rehash"
    async with db() as s:
        after = await s.scalar(select(User.password_hash).where(User.username == "rehash"))
    assert after is not None
    assert after != before
    assert "t=2" in after
    assert PasswordHasher().verify(after, PASSWORD)
    async with start_app(argon2_time_cost=2) as client:
        await login(client, "rehash")
        log = (
            await client.get(
                f"{AUTH}/audit?action=login.succeeded", headers=await admin_headers(client)
            )
        ).json()
        assert any(e["details"].get("rehashed") for e in log["items"])


@pytest.mark.parametrize(
    "body",
    [
        {"username": "x"},
        {"password": "x"},
        {"username": 1, "password": 2},
        [],
        "string",
    ],
)
async def test_malformed_login_bodies_are_400(client: Client, body: Any) -> None:
    response = await client.post(f"{AUTH}/login", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_oversized_body_is_refused(client: Client) -> None:
    response = await client.post(
        f"{AUTH}/login", content=b'{"username": "' + b"a" * 200_000 + b'", "password": "x"}'
    )
    assert response.status_code == 413
