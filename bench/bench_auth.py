"""Auth benchmark: principal resolution in-process, and the auth server under load.

In-process (no HTTP): the per-operation cost of resolving a principal from an access
JWT (signature + claims + revocation check) and from a cached API key, and, for
reference, an uncached introspection against the embedded SQLite database.

Against the real server (`python -m skreg_auth`, one uvicorn process, embedded SQLite,
production argon2 cost), at 32 concurrent keep-alive connections: `/health`,
`GET /api/v1/auth/me` with an API key and with a JWT, and uncached API-key
introspection (`POST /api/v1/auth/introspect` with a service token: auth always reads
the database there). Then the login p50, and `/health` latency while 32 clients log in
at once (argon2 runs on a bounded thread pool, off the event loop).

    uv run python bench/bench_auth.py [--duration 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loadkit import (  # bench/loadkit.py, the shared load-generation kit
    CONCURRENCY,
    Connection,
    Response,
    Result,
    ServerProcess,
    free_port,
    measure,
    measure_rate,
)

PASSWORD = "bench-password-123"
ADMIN_PASSWORD = "bench-admin-password"
SERVICE_SECRET = "bench-service-secret-that-is-long-enough-0123"
AUTH = "/api/v1/auth"


# --- in-process -----------------------------------------------------------------------------


def _per_op_us(total_s: float, n: int) -> float:
    return total_s / n * 1e6


async def in_process(workdir: Path, iterations: int) -> None:
    """Resolve principals through the same CredentialResolver every service uses."""
    from skreg_auth.apikeys.introspection import LocalIntrospector
    from skreg_auth.apikeys.service import ApiKeyService
    from skreg_auth.context import AuthContext
    from skreg_auth.schema import MIGRATIONS
    from skreg_auth.settings import AuthSettings
    from skreg_auth.tokens.signing import LocalKeySource
    from skreg_auth.users.service import UserService
    from skreg_common.db import unit_of_work
    from skreg_common.migrations import upgrade
    from skreg_common.principal import Principal
    from skreg_common.runtime import Runtime
    from skreg_common.verifier import JwtVerifier
    from skreg_proto.auth import KeyCreateRequest, RegisterRequest

    settings = AuthSettings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'inproc.db'}",
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        argon2_parallelism=1,
    )
    runtime = Runtime.open(settings)
    await upgrade(runtime.engine, [MIGRATIONS])
    ctx = AuthContext.create(settings).bind(runtime)
    async with unit_of_work(runtime.sessions) as session:
        user = await UserService(session, ctx).register(
            RegisterRequest("bench", "bench@example.com", PASSWORD)
        )
        principal = Principal(
            kind="user", id=user.id, username=user.username, roles=("user",), scopes=("read",)
        )
        created = await ApiKeyService(session, ctx).create_key(
            principal, KeyCreateRequest("bench", ["read"])
        )
    token = ctx.issuer.access_token(
        user_id=user.id, username="bench", role="user", token_version=0, session_id="s"
    )
    resolver = ctx.resolver
    await resolver.resolve(token)
    await resolver.resolve(created.key)  # fills the cache

    verifier = JwtVerifier(LocalKeySource(ctx.issuer.key))
    await verifier.verify(token)
    start = time.perf_counter()
    for _ in range(iterations):
        await verifier.verify(token)
    jwt_us = _per_op_us(time.perf_counter() - start, iterations)

    start = time.perf_counter()
    for _ in range(iterations):
        await resolver.resolve(token)
    jwt_known_us = _per_op_us(time.perf_counter() - start, iterations)

    start = time.perf_counter()
    for _ in range(iterations):
        await resolver.resolve(created.key)
    cached_us = _per_op_us(time.perf_counter() - start, iterations)

    introspector = LocalIntrospector(
        runtime.engine,
        runtime.sessions,
        admin_username="admin",
        admin_api_key=None,
        cache_seconds=30,
    )
    rounds = max(200, iterations // 20)
    start = time.perf_counter()
    for _ in range(rounds):
        await introspector.introspect(created.key)
    uncached_us = _per_op_us(time.perf_counter() - start, rounds)

    ctx.passwords.close()
    await runtime.close()
    print("in-process principal resolution (target: ≤ 200 µs each)")
    print(f"  access JWT, full verify (Ed25519 signature + claims)     {jwt_us:8.1f} µs/op")
    print(f"  access JWT, seen before (revocation check only)          {jwt_known_us:8.1f} µs/op")
    print(f"  API key, cached                                          {cached_us:8.1f} µs/op")
    print(f"  API key, uncached (one indexed SQLite query), reference  {uncached_us:8.1f} µs/op")


# --- the server -------------------------------------------------------------------------------


def auth_server(database: Path) -> ServerProcess:
    """`python -m skreg_auth` in a subprocess on an embedded SQLite file."""
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "SERVICE_SECRET": SERVICE_SECRET,
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "true",
        # Sign-ins are counted before their password is checked: the storm's clients
        # share one address and would mostly measure the throttle's 429 instead.
        "LOGIN_MAX_FAILURES": "1000",
    }
    command = [sys.executable, "-m", "skreg_auth"]
    return ServerProcess(command, port=port, env=env, label="the auth server")


def show(result: Result) -> None:
    print(result.line(name_width=34, rate_width=8))


async def _health(c: Connection, _n: int) -> Response:
    return await c.request("GET", "/health")


def _json(body: Any) -> tuple[dict[str, str], bytes]:
    return {"Content-Type": "application/json"}, json.dumps(body).encode()


async def _post(c: Connection, path: str, body: Any, auth: dict[str, str] | None = None) -> Any:
    headers, raw = _json(body)
    status, _, content = await c.request("POST", path, {**headers, **(auth or {})}, raw)
    if status >= 400:
        raise RuntimeError(f"{path}: {status} {content[:200]!r}")
    return json.loads(content) if content else None


async def server_run(url: str, duration: float) -> None:
    setup = Connection.to(url)
    await _post(
        setup,
        f"{AUTH}/register",
        {"username": "bench", "email": "b@example.com", "password": PASSWORD},
    )
    login = await _post(setup, f"{AUTH}/login", {"username": "bench", "password": PASSWORD})
    jwt_header = {"Authorization": f"Bearer {login['access_token']}"}
    key = (
        await _post(
            setup, f"{AUTH}/keys", {"name": "bench", "scopes": ["read", "publish"]}, jwt_header
        )
    )["key"]
    service = await _post(
        setup, "/internal/v1/auth/service-token", {"service": "bench", "secret": SERVICE_SECRET}
    )
    service_header = {"Authorization": f"Bearer {service['access_token']}"}
    setup.close()
    key_header = {"X-API-Key": key}
    introspect_headers, introspect_body = _json({"key": key})

    async def me_key(c: Connection, _n: int) -> Response:
        return await c.request("GET", f"{AUTH}/me", key_header)

    async def me_jwt(c: Connection, _n: int) -> Response:
        return await c.request("GET", f"{AUTH}/me", jwt_header)

    async def introspect(c: Connection, _n: int) -> Response:
        return await c.request(
            "POST", f"{AUTH}/introspect", {**introspect_headers, **service_header}, introspect_body
        )

    print(f"\nauth server (one uvicorn process, SQLite), {CONCURRENCY} connections")
    health_result = await measure(url, "GET /health", _health, duration=duration)
    show(health_result)
    me_result = await measure(url, "GET /api/v1/auth/me (API key)", me_key, duration=duration)
    show(me_result)
    show(await measure(url, "GET /api/v1/auth/me (JWT)", me_jwt, duration=duration))
    intro = await measure(url, "POST /introspect (uncached, DB)", introspect, duration=duration)
    show(intro)
    paced = []
    for rate in (250, 500):
        result = await measure_rate(
            url, f"POST /introspect, {rate}/s open loop", introspect, rate=rate, duration=duration
        )
        paced.append(result)
        show(result)
    print(
        f"  /me with an API key vs /health throughput: {me_result.rate / health_result.rate:6.1%}"
        "   (target ≥ 40%)"
    )
    print(
        f"  uncached introspection p99 at {CONCURRENCY} connections (target ≤ 5 ms):"
        f" {paced[0].pct(0.99):.2f} ms at {paced[0].rate:.0f}/s,"
        f" {paced[1].pct(0.99):.2f} ms at {paced[1].rate:.0f}/s,"
        f" {intro.pct(0.99):.2f} ms saturated (closed loop)"
    )
    await login_storm(url, duration)


async def login_storm(url: str, duration: float) -> None:
    body_headers, body = _json({"username": "bench", "password": PASSWORD})

    async def login(c: Connection, _n: int) -> Response:
        return await c.request("POST", f"{AUTH}/login", body_headers, body)

    quiet = await measure(
        url, "POST /login, 1 client (argon2id)", login, duration=duration, concurrency=1
    )
    show(quiet)

    storm_done = asyncio.Event()

    async def storm() -> Result:
        try:
            return await measure(
                url, f"POST /login, {CONCURRENCY} clients", login, duration=duration, warm=_health
            )
        finally:
            storm_done.set()

    async def probe() -> Result:
        connection = Connection.to(url)
        await connection.request("GET", "/health")
        latencies: list[float] = []
        start = time.perf_counter()
        await asyncio.sleep(0.5)  # let the storm build up
        while not storm_done.is_set():
            t0 = time.perf_counter()
            await connection.request("GET", "/health")
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(0.005)
        connection.close()
        return Result("GET /health during the storm", latencies, 0, time.perf_counter() - start)

    storm_result, probe_result = await asyncio.gather(storm(), probe())
    show(storm_result)
    show(probe_result)
    print(f"  login p50 (one client): {quiet.pct(0.5):.1f} ms")
    print(
        f"  /health p99 during a {CONCURRENCY}-client login storm:"
        f" {probe_result.pct(0.99):.2f} ms   (target ≤ 50 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--iterations", type=int, default=20_000, help="in-process operations")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="skreg-bench-auth-") as tmp:
        workdir = Path(tmp)
        asyncio.run(in_process(workdir, args.iterations))
        with auth_server(workdir / "server.db") as server:
            asyncio.run(server_run(server.url, args.duration))


if __name__ == "__main__":
    main()
