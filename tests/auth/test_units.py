"""The parts under the endpoints: throttles (one contract, memory and Redis), the revocation
list, settings, key formats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from skreg_auth.apikeys.service import generate_key, parse_key
from skreg_auth.settings import AuthSettings
from skreg_auth.tokens.signing import LocalKeySource, SigningKey, TokenIssuer
from skreg_common.errors import Unauthorized
from skreg_common.forwarded import address_bucket
from skreg_common.revocation import (
    RevocationList,
    RevocationSubscriber,
    load_revocations,
    publish_revocation,
)
from skreg_common.settings import SettingsError, load_settings
from skreg_common.throttle import (
    MemoryThrottle,
    RedisThrottle,
    Slot,
    Throttle,
    throttle_key,
)
from skreg_common.verifier import CLOCK_LEEWAY_S, CredentialResolver, JwtVerifier
from skreg_proto.auth import RevocationEvent
from skreg_proto.internal import IntrospectResponse

STRONG = "s" * 40


@pytest.fixture(params=["memory", "redis"])
async def throttle(request: pytest.FixtureRequest, redis_client: Redis) -> AsyncIterator[Throttle]:
    """Both implementations, held to the same contract."""
    if request.param == "memory":
        yield MemoryThrottle(window=1)
    else:
        yield RedisThrottle(redis_client, prefix="test:throttle:", window=1)


async def test_throttle_contract(throttle: Throttle) -> None:
    key, other = throttle_key("account", "alice"), throttle_key("account", "bob")
    assert await throttle.peek(key, 3) == Slot(0, 0)
    assert [await throttle.reserve(key, 3) for _ in range(3)] == [
        Slot(1, 0),
        Slot(2, 0),
        Slot(3, 0),
    ]
    refused = await throttle.reserve(key, 3)  # at the limit: wait for the window
    assert refused == Slot(3, 1)
    assert not refused.granted
    assert await throttle.peek(key, 3) == Slot(3, 1)
    assert await throttle.peek(key, 4) == Slot(3, 0)  # the limit is per call
    assert (await throttle.reserve(other, 3)).granted  # keys are independent
    await throttle.release(key)  # a success gives its attempt back
    assert await throttle.reserve(key, 3) == Slot(3, 0)
    await throttle.reset(key)
    assert await throttle.peek(key, 3) == Slot(0, 0)
    await throttle.release(key)  # never below zero
    assert await throttle.peek(key, 3) == Slot(0, 0)
    for _ in range(3):
        await throttle.reserve(key, 3)
    await asyncio.sleep(1.2)  # the window (1 s) closes
    assert await throttle.reserve(key, 3) == Slot(1, 0)


async def test_concurrent_reservations_never_pass_the_limit(throttle: Throttle) -> None:
    # The attack on the old read-then-count throttle: a burst where every attempt
    # looked before any was counted. Reserving is one atomic step, so exactly `limit` pass.
    key = throttle_key("ip", "192.0.2.1")
    slots = await asyncio.gather(*(throttle.reserve(key, 10) for _ in range(200)))
    assert sum(slot.granted for slot in slots) == 10
    assert sorted(slot.count for slot in slots if slot.granted) == list(range(1, 11))


def test_throttle_keys_are_bounded_and_distinct() -> None:
    long = throttle_key("account", "x" * 100_000)
    assert len(long) < 64
    assert throttle_key("ip", "a") != throttle_key("account", "a")


def test_revocation_list() -> None:
    now = [1000.0]
    revocations = RevocationList(clock=lambda: now[0])
    seen: list[RevocationEvent] = []
    revocations.subscribe(seen.append)
    revocations.apply(RevocationEvent(kind="user", id="u", min_version=2, until=1900))
    assert revocations.token_revoked("u", 1, None)
    assert not revocations.token_revoked("u", 2, None)
    assert not revocations.token_revoked("v", 0, None)
    # A lower version arriving late never un-revokes.
    revocations.apply(RevocationEvent(kind="user", id="u", min_version=1, until=1900))
    assert revocations.token_revoked("u", 1, None)
    revocations.apply(RevocationEvent(kind="session", id="s", until=1900))
    assert revocations.token_revoked("v", 0, "s")
    assert not revocations.token_revoked("v", 0, "t")
    assert len(seen) == 3
    now[0] = 2000.0  # every token those entries could void has expired
    assert not revocations.token_revoked("u", 1, "s")
    revocations.prune()
    revocations.apply(RevocationEvent(kind="user", id="w", min_version=5, until=1500))
    assert not revocations.token_revoked("w", 0, None)


async def test_revocations_reach_subscribers_and_late_starters(redis_client: Redis) -> None:
    live = RevocationList()
    subscriber = RevocationSubscriber(redis_client, live)
    await subscriber.start()
    try:
        event = RevocationEvent(kind="user", id="u1", min_version=3, until=time.time() + 60)
        await publish_revocation(redis_client, event)
        for _ in range(250):
            if live.token_revoked("u1", 0, None):
                break
            await asyncio.sleep(0.02)
        assert live.token_revoked("u1", 0, None)
    finally:
        await subscriber.stop()
    late = RevocationList()
    assert await load_revocations(redis_client, late) == 1
    assert late.token_revoked("u1", 2, None)
    # Expired entries are pruned from the record on the next publish.
    await publish_revocation(
        redis_client, RevocationEvent(kind="session", id="old", until=time.time() - 1)
    )
    assert await load_revocations(redis_client, RevocationList()) == 1


def test_prod_refuses_dev_admin_password() -> None:
    env = {"ENVIRONMENT": "prod", "SECRET_KEY": STRONG, "SERVICE_SECRET": STRONG}
    with pytest.raises(SettingsError, match="ADMIN_PASSWORD"):
        load_settings(AuthSettings, env)
    with pytest.raises(SettingsError, match="ADMIN_PASSWORD"):
        load_settings(AuthSettings, {**env, "ADMIN_PASSWORD": "admin123"})
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(
            AuthSettings, {**env, "SECRET_KEY": "short", "ADMIN_PASSWORD": "a-good-password"}
        )
    with pytest.raises(SettingsError, match="ADMIN_API_KEY"):
        load_settings(
            AuthSettings, {**env, "ADMIN_PASSWORD": "a-good-password", "ADMIN_API_KEY": "k"}
        )
    ok = load_settings(AuthSettings, {**env, "ADMIN_PASSWORD": "a-good-password"})
    assert ok.registration_is_open is False  # closed by default in prod
    assert load_settings(AuthSettings, {}).registration_is_open is True  # open in dev
    assert load_settings(AuthSettings, {"REGISTRATION_OPEN": "false"}).registration_is_open is False


def test_key_format() -> None:
    key_id, key = generate_key()
    parsed = parse_key(key)
    assert parsed is not None
    assert parsed[0] == key_id
    assert len(parsed[1]) == 52  # base32 of 32 random bytes: 256 bits
    assert len({generate_key()[1] for _ in range(1000)}) == 1000
    for bad in ("", "sr_", key.upper(), key + "x", "xr" + key[2:], key.replace("_", "-")):
        assert parse_key(bad) is None


async def test_a_remembered_token_still_expires_and_is_still_revocable() -> None:
    key = SigningKey.derive("r" * 40)
    issuer = TokenIssuer(key, access_ttl=900, service_ttl=900)
    revocations = RevocationList()
    resolver = CredentialResolver(JwtVerifier(LocalKeySource(key)), _NoIntrospection(), revocations)
    # Valid for about one more second, counting the clock leeway.
    dying = issuer.access_token(
        user_id="u1", username="al", role="user", token_version=0, session_id="s1",
        now=time.time() - CLOCK_LEEWAY_S, ttl=1,
    )  # fmt: skip
    assert (await resolver.resolve(dying)).username == "al"
    await asyncio.sleep(1.5)
    with pytest.raises(Unauthorized, match="expired"):
        await resolver.resolve(dying)

    fresh = issuer.access_token(
        user_id="u1", username="al", role="user", token_version=0, session_id="s2"
    )
    assert (await resolver.resolve(fresh)).id == "u1"
    revocations.apply(RevocationEvent(kind="session", id="s2", until=time.time() + 60))
    with pytest.raises(Unauthorized, match="revoked"):
        await resolver.resolve(fresh)


class _NoIntrospection:
    async def introspect(self, key: str) -> IntrospectResponse:
        return IntrospectResponse(active=False)


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::1", "::/64"),
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_per_address_budgets_count_an_ipv6_64_as_one_address(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket
