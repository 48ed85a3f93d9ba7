"""No per-process state that breaks with replicas: each kind tested with two processes
on PostgreSQL + Redis (tests/ops/fleet.py).

- Throttles (sign-in failures, registrations, publishes) count in Redis: the limit holds
  for two processes combined, not per process.
- Download de-duplication: the same client downloading through two catalogs is
  counted once (the visit is a database row, not a process's memory).
- Webhook replay memory: the same signed delivery sent to two importers at once is
  acted on once (the delivery is claimed by a conditional insert in the database).
- Scheduled syncs: two importer workers, each running upkeep every second, start
  exactly one sync per interval (the source is claimed by re-checking next_sync_at).
- The Git cap (GIT_MAX_CONCURRENT across two workers) is proved in
  tests/importer/test_worker.py, with a slow Git server counting clones in flight.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.ops.fleet import Fleet, fleet
from tests.support.factories import AUTH, publish_bundle, register_user, sign_in, skill_bundle
from tests.support.processes import free_port

ADMIN_KEY = "sr_sharedstateadmin_" + "k" * 43
LIMIT = 3  # every throttle under test allows this many, combined over both processes
SOURCES = "/api/v1/sources"
IMPORTS = "/api/v1/imports"


@dataclass
class Replicas:
    fleet: Fleet
    auths: list[str]
    catalogs: list[str]
    importers: list[str]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Two processes of each HTTP service, started at once; each catalog asks its own
    auth. Imports point at a closed loopback port and fail at once."""
    settings = {
        "REGISTRATION_OPEN": "true",
        "REGISTRATION_MAX_PER_ADDRESS": str(LIMIT),
        "LOGIN_MAX_FAILURES": str(LIMIT),
        "PUBLISH_RATE_LIMIT": str(LIMIT),
        "ADMIN_API_KEY": ADMIN_KEY,
        "IMPORTER_ALLOW_LOCAL": "true",
        "IMPORTER_MAX_ATTEMPTS": "1",
        "IMPORTER_QUEUE_NAME": "skreg:shared-state",
    }
    workdir = tmp_path_factory.mktemp("shared-state")
    with fleet(workdir, "skreg_shared", **settings) as running:
        ports = [free_port(), free_port()]
        auths = [f"http://127.0.0.1:{port}" for port in ports]
        bases = running.start_all(
            [(f"auth-{n}", "skreg_auth", {"PORT": str(ports[n])}) for n in range(2)]
            + [(f"catalog-{n}", "skreg_catalog", {"AUTH_URL": auths[n]}) for n in range(2)]
            + [(f"importer-{n}", "skreg_importer", {"AUTH_URL": auths[n]}) for n in range(2)]
        )
        assert bases[:2] == auths
        running.env.update(AUTH_URL=auths[0], CATALOG_URL=bases[2])  # for the workers
        yield Replicas(running, auths, bases[2:4], bases[4:6])


def test_throttles_hold_across_two_auth_and_two_catalog_processes(replicas: Replicas) -> None:
    auths, catalogs = replicas.auths, replicas.catalogs

    async def scenario() -> None:
        async with (
            httpx.AsyncClient(base_url=auths[0], timeout=30) as auth0,
            httpx.AsyncClient(base_url=auths[1], timeout=30) as auth1,
            httpx.AsyncClient(base_url=catalogs[0], timeout=30) as cat0,
            httpx.AsyncClient(base_url=catalogs[1], timeout=30) as cat1,
        ):
            # Registrations per address: alternate between the two auth processes.
            for n, client in enumerate((auth0, auth1, auth0)):
                await register_user(client, f"limited{n}")
            fourth = await auth1.post(
                f"{AUTH}/register", json={"username": "limited3", "password": "x" * 16}
            )
            assert fourth.status_code == 429, fourth.text  # 3 combined, not 3 each

            # The publisher signs in now: the failures below lock this address out too.
            token = (await sign_in(auth0, "limited0"))["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            # Failed sign-ins for one account, alternating processes.
            wrong = {"username": "limited1", "password": "not-the-password"}
            failures = [
                (await client.post(f"{AUTH}/login", json=wrong)).status_code
                for client in (auth0, auth1, auth0)
            ]
            assert failures == [401, 401, 401]
            locked = await auth1.post(f"{AUTH}/login", json=wrong)
            assert locked.status_code == 429, locked.text
            assert "retry-after" in locked.headers

            # Publishes per publisher, alternating catalogs.
            published = [
                (
                    await publish_bundle(
                        client, skill_bundle(f"limited-{n}"), headers, version="1.0.0"
                    )
                ).status_code
                for n, client in enumerate((cat0, cat1, cat0))
            ]
            assert published == [201, 201, 201]
            over = await publish_bundle(cat1, skill_bundle("limited-3"), headers, version="1.0.0")
            assert over.status_code == 429, over.text

            # Downloads: the same client through both catalogs, at once and again.
            path = "/api/v1/skills/limited0/limited-0/versions/1.0.0/download"
            answers = await asyncio.gather(*(c.get(path) for c in (cat0, cat1) * 3))
            assert [a.status_code for a in answers] == [200] * 6
            await asyncio.gather(*(c.get(path) for c in (cat1, cat0)))
            counts = set()
            for _ in range(20):  # counted after the response is sent: let it land
                await asyncio.sleep(0.1)
                version = await cat0.get("/api/v1/skills/limited0/limited-0/versions/1.0.0")
                counts.add(version.json()["downloads"])
            assert counts == {1}, counts

    asyncio.run(scenario())


# --- the importer -----------------------------------------------------------------------


def _signed(secret: str, body: bytes) -> dict[str, str]:
    return {
        "x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, "sha256").hexdigest(),
        "x-github-event": "push",
        "content-type": "application/json",
    }


async def _add_source(client: httpx.AsyncClient, **fields: object) -> str:
    body = {"url": "git://127.0.0.1:9/nothing.git", "namespace": "shared", **fields}
    created = await client.post(SOURCES, json=body, headers={"x-api-key": ADMIN_KEY})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _runs(client: httpx.AsyncClient, source_id: str) -> list[dict[str, object]]:
    answer = await client.get(
        IMPORTS, params={"source_id": source_id}, headers={"x-api-key": ADMIN_KEY}
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_a_webhook_delivery_sent_to_two_importers_is_acted_on_once(replicas: Replicas) -> None:
    bases = replicas.importers

    async def scenario() -> None:
        async with (
            httpx.AsyncClient(base_url=bases[0], timeout=30) as one,
            httpx.AsyncClient(base_url=bases[1], timeout=30) as two,
        ):
            source = await _add_source(one, webhook_secret="shared-hook-secret", ref="main")
            push = json.dumps({"ref": "refs/heads/main", "after": "c" * 40}).encode()
            hook = f"{SOURCES}/{source}/webhook"
            answers = await asyncio.gather(
                *(
                    c.post(hook, content=push, headers=_signed("shared-hook-secret", push))
                    for c in (one, two) * 3
                )
            )
            assert [a.status_code for a in answers] == [202] * 6
            statuses = sorted(a.json()["status"] for a in answers)
            assert statuses == ["ignored"] * 5 + ["queued"], [a.json() for a in answers]
            assert len(await _runs(two, source)) == 1

    asyncio.run(scenario())


def test_two_importer_workers_start_one_scheduled_sync_per_interval(replicas: Replicas) -> None:
    running, bases = replicas.fleet, replicas.importers
    intervals = 3

    async def due_again(source_id: str) -> None:
        """The next interval, now: the source is due again."""
        conn = await asyncpg.connect(running.dsn)
        try:
            await conn.execute(
                "UPDATE importer_sources SET next_sync_at = now() - interval '1 second'"
                " WHERE id = $1",
                source_id,
            )
        finally:
            await conn.close()

    async def scenario() -> list[dict[str, object]]:
        async with httpx.AsyncClient(base_url=bases[0], timeout=30) as client:
            source = await _add_source(client, interval=86400, enabled=False)
            for n in range(2):
                running.spawn(
                    f"worker-{n}",
                    "skreg_importer.worker",
                    SYNC_ENABLED="true",
                    SYNC_CHECK_SECONDS="1",
                )
            enable = await client.patch(
                f"{SOURCES}/{source}", json={"enabled": True}, headers={"x-api-key": ADMIN_KEY}
            )
            assert enable.status_code == 200, enable.text
            for interval in range(intervals):
                if interval:
                    await due_again(source)
                # Both workers tick every second: give them several ticks each.
                deadline = asyncio.get_running_loop().time() + 30
                while True:
                    runs = await _runs(client, source)
                    finished = [r for r in runs if r["state"] in ("failed", "succeeded")]
                    if len(finished) == interval + 1:
                        break
                    assert asyncio.get_running_loop().time() < deadline, runs
                    await asyncio.sleep(0.2)
                await asyncio.sleep(2)  # two more ticks of each worker: nothing new
            return await _runs(client, source)

    runs = asyncio.run(scenario())
    assert len(runs) == intervals, runs
    assert {r["trigger"] for r in runs} == {"schedule"}
