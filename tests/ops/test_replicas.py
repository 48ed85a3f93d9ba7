"""Two catalog and two auth processes on PostgreSQL + Redis behind real Traefik.

Every write (publish, yank, unyank, visibility change, delete, key revocation, user
disable) goes through one replica; the other is read in a loop until it shows the
write, and the time that took is its staleness. Each read on the other replica is
warmed first (its read cache holds the old answer), so only the invalidation over
Redis (skreg_catalog.broadcast, skreg_common.revocation) can make it fresh early.
The writing replica must show its own write on the first read. Worst staleness is
printed and must stay under one second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from redis import Redis as SyncRedis

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.factories import (
    AUTH,
    bearer,
    create_api_key,
    new_user,
    publish_bundle,
    sign_in,
    skill_bundle,
)
from tests.support.processes import (
    Process,
    free_port,
    migrate,
    shared_env,
    start_python_module,
    wait_http,
)
from tests.support.traefik import Edge, multi_server_routes, start_traefik

STALENESS_BOUND_S = 1.0
POLL_TIMEOUT_S = 5.0
ROUNDS = 5


@dataclass
class Cluster:
    catalogs: list[str]
    auths: list[str]
    edge: Edge
    admin_token: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("replicas")
    dsn = asyncio.run(create_pg_database("skreg_replicas"))
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    common = shared_env(
        url,
        REDIS_URL,
        PUBLISH_RATE_LIMIT="0",
        # Far above the bound: only the invalidation over Redis can make a replica fresh
        # in time, not the cache's expiry.
        READ_CACHE_TTL="30",
        REGISTRATION_OPEN="true",
        ADMIN_PASSWORD="admin-password-for-replicas",
    )
    migrate(common)
    auth_ports = [free_port(), free_port()]
    catalog_ports = [free_port(), free_port()]
    auths = [f"http://127.0.0.1:{p}" for p in auth_ports]
    catalogs = [f"http://127.0.0.1:{p}" for p in catalog_ports]
    processes: list[Process] = []
    try:
        for index, port in enumerate(auth_ports):
            env = {**common, "PORT": str(port)}
            processes.append(start_python_module(f"auth-{index}", "skreg_auth", env, workdir))
        for process, base in zip(processes, auths, strict=True):
            wait_http(process, f"{base}/ready", timeout=60)
        for index, port in enumerate(catalog_ports):
            # Each catalog asks "its" auth replica, as compose's DNS would spread them.
            env = {**common, "PORT": str(port), "AUTH_URL": auths[index]}
            processes.append(start_python_module(f"catalog-{index}", "skreg_catalog", env, workdir))
        for process, base in zip(processes[2:], catalogs, strict=True):
            wait_http(process, f"{base}/ready", timeout=60)
        routes = multi_server_routes(workdir / "routes", {"auth": auths, "catalog": catalogs})
        (workdir / "edge").mkdir()
        # Gateway and importer are not under test: any loopback answer to /health will do
        # (their default upstreams are compose host names, never looked up here).
        stand_ins = {"gateway": catalogs[0], "importer": catalogs[1]}
        edge = start_traefik(workdir / "edge", stand_ins, dynamic_source=routes)
        processes.append(edge.process)
        admin = httpx.post(
            f"{auths[0]}{AUTH}/login",
            json={"username": "admin", "password": common["ADMIN_PASSWORD"]},
            timeout=30,
        )
        assert admin.status_code == 200, admin.text
        yield Cluster(catalogs, auths, edge, admin.json()["access_token"])
    finally:
        for process in reversed(processes):
            process.stop()
        asyncio.run(drop_pg_database(dsn))
        # Revocations and throttle counters these processes recorded stay out of later tests.
        with SyncRedis.from_url(REDIS_URL) as redis:
            redis.flushdb()


async def _staleness(check: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until `check()` holds, polling as fast as the replica answers."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > POLL_TIMEOUT_S:
            raise AssertionError(f"still stale after {POLL_TIMEOUT_S} s")
    return time.monotonic() - started


def test_a_write_through_one_replica_shows_on_the_other_within_a_second(
    cluster: Cluster,
) -> None:
    writer_base, reader_base = cluster.catalogs
    seen: dict[str, list[float]] = {}

    async def scenario() -> None:
        async with (
            httpx.AsyncClient(base_url=writer_base, timeout=30) as writer,
            httpx.AsyncClient(base_url=reader_base, timeout=30) as reader,
            httpx.AsyncClient(base_url=cluster.auths[0], timeout=30) as auth_writer,
            httpx.AsyncClient(
                base_url=cluster.edge.base_url, verify=cluster.edge.ssl_context(), timeout=30
            ) as edge,
        ):
            user = await new_user(auth_writer, "replica-owner")
            headers = user.headers
            for round_ in range(ROUNDS):
                version = f"1.0.{round_}"
                path = f"/api/v1/skills/replica-owner/steady/versions/{version}"
                assert (await reader.get(path)).status_code == 404  # warm: "not there"
                data = skill_bundle("steady", body=f"# round {round_}\n")
                published = await publish_bundle(writer, data, headers, version=version)
                assert published.status_code == 201, published.text
                own = await writer.get(path)
                assert own.status_code == 200, "the writer must read its own write at once"

                async def published_on_reader(path: str = path) -> bool:
                    return (await reader.get(path)).status_code == 200

                seen.setdefault("publish", []).append(await _staleness(published_on_reader))

                for action, yanked in (("yank", True), ("unyank", False)):
                    assert (await reader.get(path)).json()["yanked"] is not yanked  # warm
                    call = writer.post if yanked else writer.delete
                    answer = await call(
                        f"{path}/yank",
                        headers=headers,
                        **({"json": {"reason": "test"}} if yanked else {}),
                    )
                    assert answer.status_code == 200, answer.text
                    assert (await writer.get(path)).json()["yanked"] is yanked

                    async def yank_on_reader(expected: bool = yanked, path: str = path) -> bool:
                        return bool((await reader.get(path)).json()["yanked"] is expected)

                    seen.setdefault(action, []).append(await _staleness(yank_on_reader))

                # Key revocation through auth replica 0, felt by catalog replica 1 (a dry-run
                # publish: a route that needs the key, whose answer catalog 1 has cached).
                key = (await create_api_key(auth_writer, headers, ["read", "publish"]))["key"]
                probe = skill_bundle("steady", body="# probe\n")

                async def key_status(key: str = key, probe: bytes = probe) -> int:
                    answer = await publish_bundle(
                        reader, probe, bearer(key), version="9.9.9", dry_run=True
                    )
                    return answer.status_code

                assert await key_status() in (200, 201)  # the key's answer is cached now
                listed = await auth_writer.get(f"{AUTH}/keys", headers=headers)
                key_id = next(
                    k["id"] for k in listed.json()["items"] if key.startswith(k["prefix"])
                )
                revoked = await auth_writer.delete(f"{AUTH}/keys/{key_id}", headers=headers)
                assert revoked.status_code == 204, revoked.text

                async def key_refused(
                    key_status: Callable[[], Awaitable[int]] = key_status,
                ) -> bool:
                    return await key_status() == 401

                seen.setdefault("key revocation", []).append(await _staleness(key_refused))

                # And through the edge, which spreads requests over both replicas.
                assert (await edge.get(path)).status_code == 200

            # Visibility change through catalog 0: an anonymous reader of catalog 1 loses the
            # skill when it turns private and finds it again when it turns public.
            skill = "/api/v1/skills/replica-owner/steady"
            for visibility, status in (("private", 404), ("public", 200)):
                assert (await reader.get(skill)).status_code != status  # warm
                changed = await writer.patch(
                    skill, json={"visibility": visibility}, headers=headers
                )
                assert changed.status_code == 200, changed.text

                async def seen_as(status: int = status) -> bool:
                    return (await reader.get(skill)).status_code == status

                seen.setdefault(f"visibility {visibility}", []).append(await _staleness(seen_as))

            # Delete through catalog 0: gone from catalog 1 (detail and its latest version).
            assert (await reader.get(f"{skill}/versions/latest")).status_code == 200  # warm
            deleted = await writer.delete(skill, headers=headers)
            assert deleted.status_code == 204, deleted.text
            assert (await writer.get(skill)).status_code == 404

            async def deleted_on_reader() -> bool:
                return (await reader.get(f"{skill}/versions/latest")).status_code == 404

            seen.setdefault("delete", []).append(await _staleness(deleted_on_reader))

            # User disable through auth 0: the user's access token stops working on catalog 1.
            tokens = await sign_in(auth_writer, "replica-owner", user.password)
            token_headers = bearer(tokens["access_token"])
            probe = skill_bundle("steady", body="# probe\n")

            async def token_status() -> int:
                answer = await publish_bundle(
                    reader, probe, token_headers, version="9.9.9", dry_run=True
                )
                return answer.status_code

            assert await token_status() in (200, 201)
            disabled = await auth_writer.patch(
                f"{AUTH}/users/{user.id}",
                json={"disabled": True},
                headers=bearer(cluster.admin_token),
            )
            assert disabled.status_code == 200, disabled.text

            async def user_refused() -> bool:
                return await token_status() == 401

            seen.setdefault("user disable", []).append(await _staleness(user_refused))

    asyncio.run(scenario())
    worst = {action: max(times) for action, times in seen.items()}
    print("\nworst staleness per write (s):", {k: round(v, 3) for k, v in worst.items()})
    assert max(worst.values()) < STALENESS_BOUND_S, worst
