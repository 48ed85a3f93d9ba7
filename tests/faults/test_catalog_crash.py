"""A catalog replica SIGKILLed in the middle of publishes, with a client that retries.

Two catalog processes (one auth) on PostgreSQL + Redis, loopback only. Publishers send
bundles to replica A, several at once; once a few have landed, A is killed outright
(no shutdown). Each publish whose answer was lost is retried on replica B, which
answers 201 (A died before committing) or 200 (A committed: an identical retry).
Afterwards every publish is exactly one version with its bundle's digest, no blob is
left without a version, no skill without a version, and B served throughout.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis import Redis as SyncRedis
from skreg_proto.bundle import read_bundle

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.factories import new_user, publish_bundle, skill_bundle
from tests.support.processes import (
    Process,
    free_port,
    migrate,
    shared_env,
    start_python_module,
    wait_http,
)

PUBLISHES = 16
AT_ONCE = 4
KILL_AFTER = 4  # publishes answered by A before it is killed
RETRIES = 3


@dataclass
class Catalogs:
    a: Process
    a_url: str
    b_url: str
    auth_url: str
    dsn: str


@pytest.fixture
def catalogs(tmp_path: Path) -> Iterator[Catalogs]:
    dsn = asyncio.run(create_pg_database("skreg_faults"))
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    common = shared_env(url, REDIS_URL, PUBLISH_RATE_LIMIT="0", REGISTRATION_OPEN="true")
    migrate(common)
    ports = [free_port() for _ in range(3)]
    auth_url, a_url, b_url = (f"http://127.0.0.1:{p}" for p in ports)
    processes: list[Process] = []
    try:
        auth = start_python_module(
            "auth", "skreg_auth", {**common, "PORT": str(ports[0])}, tmp_path
        )
        processes.append(auth)
        wait_http(auth, f"{auth_url}/ready", timeout=60)
        for name, port in (("catalog-a", ports[1]), ("catalog-b", ports[2])):
            env = {**common, "PORT": str(port), "AUTH_URL": auth_url}
            processes.append(start_python_module(name, "skreg_catalog", env, tmp_path))
        wait_http(processes[1], f"{a_url}/ready", timeout=60)
        wait_http(processes[2], f"{b_url}/ready", timeout=60)
        yield Catalogs(processes[1], a_url, b_url, auth_url, dsn)
    finally:
        for process in reversed(processes):
            process.stop()
        asyncio.run(drop_pg_database(dsn))
        # Revocations and throttle counters these processes recorded stay out of later tests.
        with SyncRedis.from_url(REDIS_URL) as redis:
            redis.flushdb()


def _bundle(index: int) -> bytes:
    # ~100 KB of incompressible-ish text, so a publish takes long enough to be cut short.
    filler = "".join(f"{index:04d}-{n:06d}-{(n * 7919) % 104729:06d}\n" for n in range(5000))
    return skill_bundle("crashy", body=f"# crash {index}\n", files={"notes.txt": filler.encode()})


def test_sigkill_mid_publish_leaves_exactly_one_version_per_publish(catalogs: Catalogs) -> None:
    answered_by_a = 0
    retried = 0
    killed = asyncio.Event()

    async def scenario() -> dict[str, str]:
        nonlocal answered_by_a, retried
        async with httpx.AsyncClient(base_url=catalogs.auth_url, timeout=30) as auth:
            user = await new_user(auth, "crash-owner")
        expected: dict[str, str] = {}
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(PUBLISHES):
            queue.put_nowait(index)

        async def publisher() -> None:
            nonlocal answered_by_a, retried
            async with (
                httpx.AsyncClient(base_url=catalogs.a_url, timeout=30) as a,
                httpx.AsyncClient(base_url=catalogs.b_url, timeout=30) as b,
            ):
                while not queue.empty():
                    index = queue.get_nowait()
                    data = _bundle(index)
                    version = f"1.0.{index}"
                    expected[version] = read_bundle(data).digest
                    targets = [a, b, b, b][: RETRIES + 1] if not killed.is_set() else [b] * RETRIES
                    for attempt, client in enumerate(targets):
                        try:
                            answer = await publish_bundle(
                                client, data, user.headers, version=version
                            )
                        except httpx.TransportError:
                            retried += 1
                            continue
                        if answer.status_code >= 500:
                            retried += 1
                            continue
                        # 201 created, or 200: an identical retry of what A had committed
                        assert answer.status_code in (200, 201), answer.text
                        assert answer.status_code == 201 or attempt > 0
                        assert answer.json()["digest"] == expected[version]
                        if client is a:
                            answered_by_a += 1
                            if answered_by_a >= KILL_AFTER and not killed.is_set():
                                killed.set()
                                os.killpg(catalogs.a.popen.pid, signal.SIGKILL)
                        break
                    else:
                        raise AssertionError(f"publish of {version} never succeeded")

        await asyncio.gather(*(publisher() for _ in range(AT_ONCE)))
        return expected

    expected = asyncio.run(scenario())
    assert killed.is_set(), "replica A was never killed"
    catalogs.a.popen.wait(10)
    assert catalogs.a.popen.returncode is not None

    async def stored() -> tuple[dict[str, str], int, int]:
        conn = await asyncpg.connect(catalogs.dsn)
        try:
            rows = await conn.fetch(
                "SELECT v.version, v.digest FROM catalog_versions v "
                "JOIN catalog_skills s ON s.id = v.skill_id WHERE s.name = 'crashy'"
            )
            orphan_blobs = await conn.fetchval(
                "SELECT count(*) FROM catalog_blobs b WHERE NOT EXISTS "
                "(SELECT 1 FROM catalog_versions v WHERE v.digest = b.digest)"
            )
            empty_skills = await conn.fetchval(
                "SELECT count(*) FROM catalog_skills s WHERE NOT EXISTS "
                "(SELECT 1 FROM catalog_versions v WHERE v.skill_id = s.id)"
            )
        finally:
            await conn.close()
        versions = [str(r["version"]) for r in rows]
        assert len(versions) == len(set(versions))  # never two rows for one version
        return {str(r["version"]): str(r["digest"]) for r in rows}, orphan_blobs, empty_skills

    versions, orphan_blobs, empty_skills = asyncio.run(stored())
    print(f"\npublishes: {PUBLISHES}, by A before the kill: {answered_by_a}, retried: {retried}")
    assert versions == expected
    assert orphan_blobs == 0
    assert empty_skills == 0
    # B still serves every version it now holds.
    with httpx.Client(base_url=catalogs.b_url, timeout=30) as b:
        for version, digest in expected.items():
            answer = b.get(f"/api/v1/skills/crash-owner/crashy/versions/{version}/download")
            assert answer.status_code == 200
            assert read_bundle(answer.content).digest == digest
