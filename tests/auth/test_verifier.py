"""Other services: JWTs checked locally against the JWKS, API keys introspected and cached,
revocations seen at once through Redis, introspection for services only.

Auth runs here as a real separate process (`python -m skreg_auth`); the "other service"
is an app built with `remote_auth_component`, exactly as catalog and importer are.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.apikeys.models import ApiKey
from skreg_auth.tokens.signing import LocalKeySource, SigningKey, TokenIssuer
from skreg_common.app import build_app
from skreg_common.db import utcnow
from skreg_common.errors import Unauthorized
from skreg_common.runtime import Runtime
from skreg_common.settings import DEV_SERVICE_SECRET, ServiceSettings
from skreg_common.verifier import JwtVerifier, remote_auth_component
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.auth.conftest import (
    ADMIN_PASSWORD,
    AUTH,
    PASSWORD,
    bearer,
    publish_probe,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def auth_server(database_url: str, redis_url: str) -> Iterator[str]:
    """`python -m skreg_auth` on a free port, on the test database and Redis."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "skreg_auth"], env=env, cwd=ROOT, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # start-up on a loaded 2-core machine took over 30 s
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"auth did not start: {err.decode()[-2000:]}")
        time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@asynccontextmanager
async def other_service(
    database_url: str, redis_url: str, auth_url: str
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A service that is not auth, resolving principals the way every such service does."""
    settings = ServiceSettings(database_url=database_url, redis_url=redis_url, auth_url=auth_url)
    app = build_app(
        "other",
        Runtime.open(settings),
        [remote_auth_component(settings, "catalog")],
        extra_handlers=[publish_probe],
    )
    async with AsyncTestClient(app) as client:
        yield client


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> bool:
    """Poll `check` (pub/sub delivery is asynchronous, though it takes milliseconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False


async def _signup(auth: Any, name: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    user = await auth.post(
        f"{AUTH}/register",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
    )
    assert user.status_code == 201, user.text
    tokens = (
        await auth.post(f"{AUTH}/login", json={"username": name, "password": PASSWORD})
    ).json()
    key = await auth.post(
        f"{AUTH}/keys",
        headers=bearer(tokens["access_token"]),
        json={"name": "ci", "scopes": ["read", "publish"]},
    )
    return user.json(), tokens, key.json()["key"]


async def _admin(auth: Any) -> dict[str, str]:
    response = await auth.post(
        f"{AUTH}/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    return bearer(response.json()["access_token"])


async def test_other_services_resolve_and_see_revocations_at_once(
    auth_server: str, database_url: str, redis_url: str, db: async_sessionmaker[AsyncSession]
) -> None:
    async with (
        httpx.AsyncClient(base_url=auth_server) as auth,
        other_service(database_url, redis_url, auth_server) as other,
    ):
        user, tokens, key = await _signup(auth, "remote")
        session = bearer(tokens["access_token"])

        # Logging out one session ends its access token in the other service too.
        _, leaving, _ = await _signup(auth, "leaver")
        leaving_session = bearer(leaving["access_token"])
        assert (await other.get("/probe/publish", headers=leaving_session)).status_code == 200
        out = await auth.post(f"{AUTH}/logout", json={"refresh_token": leaving["refresh_token"]})
        assert out.status_code == 204

        async def logged_out() -> bool:
            return (await other.get("/probe/publish", headers=leaving_session)).status_code == 401

        assert await _eventually(logged_out)

        assert (await other.get("/probe/publish", headers=session)).json() == {"user": "remote"}
        assert (await other.get("/probe/publish", headers={"X-API-Key": key})).status_code == 200

        # Revoked behind auth's back (no event): the other service's cache still answers…
        key_id = key.split("_")[1]
        async with db() as s, s.begin():
            await s.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=utcnow()))
        assert (await other.get("/probe/publish", headers={"X-API-Key": key})).status_code == 200
        # …and a revocation through auth reaches it at once.
        second = (
            await auth.post(
                f"{AUTH}/keys", headers=session, json={"name": "two", "scopes": ["publish"]}
            )
        ).json()
        second_key = {"X-API-Key": second["key"]}
        assert (await other.get("/probe/publish", headers=second_key)).status_code == 200
        await auth.delete(f"{AUTH}/keys/{second['id']}", headers=session)

        async def second_key_refused() -> bool:
            return (await other.get("/probe/publish", headers=second_key)).status_code == 401

        assert await _eventually(second_key_refused)

        # Disabling the user stops the JWT and every key in the other service too.
        admin = await _admin(auth)
        disabled = await auth.patch(
            f"{AUTH}/users/{user['id']}", headers=admin, json={"disabled": True}
        )
        assert disabled.status_code == 200

        async def token_refused() -> bool:
            return (await other.get("/probe/publish", headers=session)).status_code == 401

        assert await _eventually(token_refused)

    # A service that starts later learns the revocation from Redis, not from luck.
    async with other_service(database_url, redis_url, auth_server) as late:
        assert (await late.get("/probe/publish", headers=session)).status_code == 401


async def test_introspection_is_for_services_only(client: AsyncTestClient[Litestar]) -> None:
    auth = client
    if True:
        _, tokens, key = await _signup(auth, "curious")
        body = {"key": key}
        anonymous = await auth.post(f"{AUTH}/introspect", json=body)
        assert anonymous.status_code == 401
        for headers in (
            bearer(tokens["access_token"]),
            {"X-API-Key": key},
            await _admin(auth),
        ):
            refused = await auth.post(f"{AUTH}/introspect", headers=headers, json=body)
            assert refused.status_code == 403
            assert "active" not in refused.text

        wrong = await auth.post(
            "/internal/v1/auth/service-token", json={"service": "importer", "secret": "guess"}
        )
        assert wrong.status_code == 401
        bad_name = await auth.post(
            "/internal/v1/auth/service-token",
            json={"service": "../admin", "secret": DEV_SERVICE_SECRET},
        )
        assert bad_name.status_code == 401
        issued = await auth.post(
            "/internal/v1/auth/service-token",
            json={"service": "importer", "secret": DEV_SERVICE_SECRET},
        )
        assert issued.status_code == 200
        service = bearer(issued.json()["access_token"])
        me = (await auth.get(f"{AUTH}/me", headers=service)).json()
        assert me["kind"] == "service"
        assert me["roles"] == ["service"]
        answer = (await auth.post(f"{AUTH}/introspect", headers=service, json=body)).json()
        assert answer["active"] is True
        assert answer["username"] == "curious"
        assert answer["scopes"] == ["read", "publish"]
        assert answer["cache_seconds"] <= 30
        unknown = (
            await auth.post(f"{AUTH}/introspect", headers=service, json={"key": _flip(key)})
        ).json()
        assert unknown == {**unknown, "active": False, "user_id": None}
        # A service token is no user: user-only endpoints refuse it.
        assert (await auth.get(f"{AUTH}/keys", headers=service)).status_code == 401


def _flip(key: str) -> str:
    """The same key with one secret character changed."""
    i = len(key) - 10
    return key[:i] + ("b" if key[i] != "b" else "c") + key[i + 1 :]


class CountingKeySource:
    """A key source that counts fetches (the JWKS endpoint itself is tested above)."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self.keys = dict(keys)
        self.fetches = 0

    async def fetch(self) -> Mapping[str, Ed25519PublicKey]:
        self.fetches += 1
        return dict(self.keys)


async def test_unknown_kid_refetches_the_keys_but_not_in_a_loop() -> None:
    old, new = SigningKey.derive("o" * 40), SigningKey.derive("n" * 40)
    source = CountingKeySource(await LocalKeySource(old).fetch())
    now = [1000.0]
    verifier = JwtVerifier(source, refetch_interval=10, clock=lambda: now[0])
    old_token = TokenIssuer(old, access_ttl=60, service_ttl=60).service_token("importer")
    assert (await verifier.verify(old_token)).name == "importer"
    assert source.fetches == 1

    # Auth rotated its key: the first token with the new kid triggers one refetch.
    now[0] += 60
    source.keys[new.kid] = new.public
    new_token = TokenIssuer(new, access_ttl=60, service_ttl=60).service_token("importer")
    assert (await verifier.verify(new_token)).name == "importer"
    assert source.fetches == 2

    # Random kids do not make it hammer the JWKS endpoint.
    stranger = SigningKey.derive("s" * 40)
    forged = TokenIssuer(stranger, access_ttl=60, service_ttl=60).service_token("importer")
    for _ in range(5):
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)
    assert source.fetches == 2
    now[0] += 60  # at most one refetch per interval
    for _ in range(5):
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)
    assert source.fetches == 3


async def test_auth_unreachable_is_503_not_401(database_url: str, redis_url: str) -> None:
    async with other_service(database_url, redis_url, "http://127.0.0.1:9") as other:
        key = "sr_" + "a" * 16 + "_" + "b" * 52
        response = await other.get("/probe/publish", headers={"X-API-Key": key})
        assert response.status_code == 503
        token = TokenIssuer(SigningKey.derive("x" * 40), access_ttl=60, service_ttl=60)
        jwt_response = await other.get(
            "/probe/publish", headers=bearer(token.service_token("importer"))
        )
        assert jwt_response.status_code == 503
        assert (await other.get("/health")).status_code == 200
