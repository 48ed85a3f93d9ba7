"""Attacks on sign-in and registration (issue 14, items 2, 4, 11), replayed on loopback.

Every throttle test runs with the in-process counter and with Redis, on both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from skreg_auth.passwords import Passwords
from skreg_common.errors import RateLimited

from tests.auth.conftest import (
    AUTH,
    PASSWORD,
    AppFactory,
    Served,
    admin_headers,
    bearer,
    login,
    register,
)

WRONG = "not-the-password"


class CountingPasswords(Passwords):
    """Counts argon2 work done (checks and hashes): what an attacker makes the server spend."""

    checks = 0
    hashes = 0

    async def _check(self, stored: str, password: str) -> bool:
        result = await super()._check(stored, password)
        type(self).checks += 1
        return result

    async def hash(self, password: str, *args: Any, **kwargs: Any) -> str:
        result = await super().hash(password, *args, **kwargs)
        type(self).hashes += 1
        return result


def count_argon2(served: Served) -> type[CountingPasswords]:
    """Make the http's Passwords count its work from now on."""
    served.context.passwords.__class__ = CountingPasswords
    CountingPasswords.checks = CountingPasswords.hashes = 0
    return CountingPasswords


@pytest.fixture(params=["memory", "redis"])
def throttling(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings for the in-process throttle, or for the Redis one (on a flushed test db)."""
    if request.param == "memory":
        return {}
    return {"redis_url": request.getfixturevalue("redis_url")}


@pytest.fixture
async def served(serve_app: AppFactory, throttling: dict[str, Any]) -> AsyncIterator[Served]:
    """An http with small budgets, client addresses taken from one trusted proxy hop."""
    settings = {
        "login_max_failures": 10,
        "login_window": 600,
        "login_locked_address_failures": 3,
        "registration_max_per_address": 5,
        **throttling,
    }
    async with serve_app(**settings) as live:
        yield live


@pytest.fixture
def http(served: Served) -> httpx.AsyncClient:
    """The HTTP client of `served`."""
    return served.http


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def attempt(
    client: httpx.AsyncClient, username: str, password: str, address: str = "203.0.113.1"
) -> int:
    response = await client.post(
        f"{AUTH}/login",
        headers=from_address(address),
        json={"username": username, "password": password},
    )
    if response.status_code == 429:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["retry-after"]) >= 1
    return response.status_code


async def test_a_concurrent_flood_gets_no_more_guesses_than_the_limit(
    served: Served, http: httpx.AsyncClient
) -> None:
    # Item 2: 100 simultaneous sign-ins, one account, one address, 99 wrong then the
    # right one. Before: 59-99 answers of 401, then 200. Each is now counted before
    # its password is checked.
    await register(http, "victim")
    argon2 = count_argon2(served)
    passwords = [WRONG] * 99 + [PASSWORD]
    statuses = await asyncio.gather(*(attempt(http, "victim", p) for p in passwords))
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) <= 10
    assert statuses[-1] == 429  # the right password came too late: the budget was spent
    assert argon2.checks <= 10
    # Another address still reaches the owner (the account went per-address).
    assert await attempt(http, "victim", PASSWORD, "198.51.100.20") == 200


async def test_a_success_gives_its_reservation_back(http: httpx.AsyncClient) -> None:
    await register(http, "regular")
    for _ in range(12):  # more successes than the budget: none of them counts
        assert await attempt(http, "regular", PASSWORD) == 200


async def test_failures_from_many_addresses_do_not_lock_the_owner_out(
    http: httpx.AsyncClient,
) -> None:
    # Item 11: ten failures from ten addresses used to lock the account for everyone.
    user = await register(http, "owner")
    session = bearer((await login(http, "owner"))["access_token"])
    for n in range(10):
        assert await attempt(http, "owner", WRONG, f"192.0.2.{n}") == 401
    # The account is limited now: a new address gets only its small budget...
    attacker = "198.51.100.66"
    assert [await attempt(http, "owner", WRONG, attacker) for _ in range(4)] == [401] * 3 + [429]
    # ...the owner and the admin can see it...
    account = (await http.get(f"{AUTH}/account", headers=session)).json()
    assert account["failed_sign_ins"] == 10
    assert account["sign_in_limited_until"] is not None
    admin = await admin_headers(http)
    seen = (await http.get(f"{AUTH}/users/{user['id']}", headers=admin)).json()
    assert seen["sign_in_limited_until"] is not None
    audit = (await http.get(f"{AUTH}/audit?action=login.account_limited", headers=admin)).json()
    assert [e["target_id"] for e in audit["items"]] == [user["id"]]
    # ...and the owner, from an address of their own, still gets in.
    assert await attempt(http, "owner", PASSWORD, "203.0.113.200") == 200


async def test_admins_lift_a_sign_in_lock(http: httpx.AsyncClient) -> None:
    user = await register(http, "locked-out")
    for n in range(10):
        await attempt(http, "locked-out", WRONG, f"192.0.2.{n}")
    for _ in range(3):
        await attempt(http, "locked-out", WRONG, "203.0.113.9")
    assert await attempt(http, "locked-out", PASSWORD, "203.0.113.9") == 429
    path = f"{AUTH}/users/{user['id']}/sign-in-lock"
    await register(http, "bystander")
    other = bearer((await login(http, "bystander"))["access_token"])
    assert (await http.delete(path, headers=other)).status_code == 403
    admin = await admin_headers(http)
    assert (await http.delete(path, headers=admin)).status_code == 204
    assert (await http.get(f"{AUTH}/users/{user['id']}", headers=admin)).json()[
        "sign_in_limited_until"
    ] is None
    assert await attempt(http, "locked-out", PASSWORD, "203.0.113.9") == 200
    audit = (await http.get(f"{AUTH}/audit?action=user.sign_in_unlocked", headers=admin)).json()
    assert [e["target_id"] for e in audit["items"]] == [user["id"]]
    missing = await http.delete(f"{AUTH}/users/no-such-user/sign-in-lock", headers=admin)
    assert missing.status_code == 404


async def test_registering_a_taken_name_costs_no_hash(
    served: Served, http: httpx.AsyncClient
) -> None:
    # Item 4: 150-300 concurrent registrations of a taken name each hashed a password.
    await register(http, "taken")
    argon2 = count_argon2(served)
    body = {"username": "taken", "email": "other@example.com", "password": PASSWORD}

    async def one(n: int) -> int:
        headers = from_address(f"10.1.{n // 250}.{n % 250}")
        return (await http.post(f"{AUTH}/register", headers=headers, json=body)).status_code

    statuses = await asyncio.gather(*(one(n) for n in range(150)))
    assert set(statuses) == {409}
    assert argon2.hashes == 0


async def test_registrations_are_throttled_per_address(http: httpx.AsyncClient) -> None:
    address = from_address("203.0.113.50")
    for n in range(5):
        body = {"username": f"bulk{n}", "email": f"bulk{n}@example.com", "password": PASSWORD}
        assert (await http.post(f"{AUTH}/register", headers=address, json=body)).status_code == 201
    body = {"username": "bulk9", "email": "bulk9@example.com", "password": PASSWORD}
    refused = await http.post(f"{AUTH}/register", headers=address, json=body)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    elsewhere = await http.post(f"{AUTH}/register", headers=from_address("203.0.113.51"), json=body)
    assert elsewhere.status_code == 201
    # Administrators creating accounts are not counted.
    admin = {**await admin_headers(http), **address}
    body = {"username": "made-by-admin", "email": "m@example.com", "password": PASSWORD}
    assert (await http.post(f"{AUTH}/register", headers=admin, json=body)).status_code == 201


async def test_a_saturated_hashing_pool_answers_429_at_once(serve_app: AppFactory) -> None:
    # Item 2, second half: a flood from many addresses must not queue everyone's
    # sign-in behind it. With one hashing thread and room for two, the rest of a
    # burst is turned away immediately instead of waiting its turn.
    settings = {"password_hash_workers": 1, "password_hash_queue": 2}
    async with serve_app(argon2_time_cost=3, argon2_memory_kib=32768, **settings) as live:
        client = live.http
        argon2 = count_argon2(live)
        names = [f"nobody{n}" for n in range(40)]
        statuses = await asyncio.gather(
            *(attempt(client, name, WRONG, f"10.2.0.{n}") for n, name in enumerate(names))
        )
        assert set(statuses) == {401, 429}
        assert argon2.checks == statuses.count(401)  # a refused attempt costs no hash
        # Refused attempts were never made: they do not count against the address.
        assert await attempt(client, "nobody0", WRONG, "10.2.0.0") == 401


async def test_hashing_lanes_are_bounded_and_registrations_cannot_starve_sign_ins() -> None:
    passwords = Passwords(time_cost=3, memory_kib=32768, parallelism=1, workers=1, queue=4)
    try:
        sign_ins = [asyncio.create_task(passwords.hash(f"password-{n}")) for n in range(4)]
        registrations = [asyncio.create_task(passwords.hash("p" * 12, lane="register"))]
        await asyncio.sleep(0)  # every task takes its place before any hash can finish
        with pytest.raises(RateLimited):
            await passwords.hash("one too many")
        with pytest.raises(RateLimited):  # registrations get a quarter: one place here
            await passwords.hash("p" * 12, lane="register")
        await asyncio.gather(*sign_ins, *registrations)
        # Registrations filling their lane leave sign-ins all of theirs.
        blocker = asyncio.create_task(passwords.hash("p" * 12, lane="register"))
        await asyncio.sleep(0)
        assert (await passwords.hash("a sign-in")).startswith("$argon2id$")
        await blocker
    finally:
        passwords.close()
