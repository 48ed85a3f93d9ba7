"""PostgreSQL stopped for a few seconds under load, then started again.

Auth, catalog, the importer and an importer worker run as real processes on a PRIVATE
PostgreSQL cluster (tests/support/pgcluster.py: the shared one on 5432 is never
touched) and the test Redis, loopback only. Clients read, sign in and list imports in
a loop while the cluster is stopped (`pg_ctl stop -m fast`, as a restart does) for
about three seconds, and an import is queued just before. Asserted:

- every request answered: 200, or 503 problem+json with `Retry-After` (never a 500,
  never a hang), each within a few seconds, and the outage was seen as 503s;
- `/ready` of every service is not 200 while PostgreSQL is down;
- every service answers again within 5 s of PostgreSQL's return, without a restart;
- the import queued around the outage finishes (`succeeded`), it is not left stuck.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from redis import Redis as SyncRedis

from tests.conftest import REDIS_URL
from tests.importer.gitrepos import Repo
from tests.support.factories import new_user, publish_skill, sign_in
from tests.support.pgcluster import PgCluster, private_cluster
from tests.support.processes import Process, free_port, start_python_module, wait_http

ADMIN_PASSWORD = "admin-password-for-faults"
OUTAGE_S = 3.0
RECOVERY_LIMIT_S = 5.0
ANSWER_LIMIT_S = 6.0  # the connect timeout is 5 s; a refused connection answers in ms
SERVICES = ("auth", "catalog", "importer")


@dataclass
class Stack:
    cluster: PgCluster
    urls: dict[str, str]
    processes: dict[str, Process]
    repo_url: str

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.log()[-3000:]}" for n, p in self.processes.items())


@dataclass
class Sample:
    what: str
    started: float
    took: float
    status: int  # 0: no answer (transport error)
    problem: bool = False
    retry_after: str | None = None
    error: str = ""


@dataclass
class Timeline:
    samples: list[Sample] = field(default_factory=list)
    ready: list[tuple[str, float, int]] = field(default_factory=list)
    down_at: float = 0.0  # PostgreSQL has stopped
    restart_at: float = 0.0  # `pg_ctl start` begins
    up_at: float = 0.0  # PostgreSQL accepts connections again


def _migrate(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skreg_common.migrate", "upgrade"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    repo = Repo(tmp_path / "skills-repo")
    repo.skill("skills/outage-alpha", description="Imported around a PostgreSQL restart.")
    repo.commit("one skill")
    with private_cluster() as cluster:
        asyncio.run(cluster.create_database("skreg"))
        database_url = cluster.url("skreg")
        _migrate(database_url)
        ports = {name: free_port() for name in SERVICES}
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        common = {
            "ENVIRONMENT": "dev",
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "k" * 40,
            "SERVICE_SECRET": "s" * 40,
            "AUTH_URL": urls["auth"],
            "CATALOG_URL": urls["catalog"],
            "IMPORTER_URL": urls["importer"],
            "HOST": "127.0.0.1",
            "ADMIN_USERNAME": "admin",
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "IMPORTER_ALLOW_LOCAL": "true",
            "AUTO_MIGRATE": "false",
            "LOG_JSON": "true",
            "REGISTRATION_OPEN": "true",
            "PUBLISH_RATE_LIMIT": "0",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "8192",
            "RELOAD": "false",
            # Small pools, so the outage is felt on every connection, not hidden by idle ones.
            "DB_POOL_SIZE": "3",
        }
        processes: dict[str, Process] = {}
        try:
            for name, module in (
                ("auth", "skreg_auth"),
                ("catalog", "skreg_catalog"),
                ("importer", "skreg_importer"),
            ):
                env = {**common, "PORT": str(ports[name])}
                processes[name] = start_python_module(name, module, env, tmp_path)
            processes["worker"] = start_python_module(
                "worker", "skreg_importer.worker", common, tmp_path
            )
            for name in SERVICES:
                wait_http(processes[name], f"{urls[name]}/ready", timeout=60)
            yield Stack(cluster, urls, processes, repo.url)
        finally:
            for process in reversed(processes.values()):
                process.stop()
            # Throttle counters and revocations these processes recorded stay out of later tests.
            with SyncRedis.from_url(REDIS_URL) as redis:
                redis.flushdb()


async def _measure(client: httpx.AsyncClient, what: str, request: httpx.Request) -> Sample:
    started = time.monotonic()
    try:
        answer = await client.send(request)
    except httpx.HTTPError as exc:
        return Sample(what, started, time.monotonic() - started, 0, error=repr(exc))
    return Sample(
        what,
        started,
        time.monotonic() - started,
        answer.status_code,
        problem=answer.headers.get("content-type", "").startswith("application/problem+json"),
        retry_after=answer.headers.get("retry-after"),
        error=answer.text[:300] if answer.status_code >= 500 else "",
    )


async def _scenario(stack: Stack) -> tuple[Timeline, str, dict[str, float]]:
    urls = stack.urls
    timeline = Timeline()
    timeout = httpx.Timeout(ANSWER_LIMIT_S * 2)
    async with httpx.AsyncClient(timeout=timeout) as client:
        auth = httpx.AsyncClient(base_url=urls["auth"], timeout=timeout)
        catalog = httpx.AsyncClient(base_url=urls["catalog"], timeout=timeout)
        async with auth, catalog:
            user = await new_user(auth, "outage-owner")
            await publish_skill(catalog, "steady", "1.0.0", user.headers)
            admin = await sign_in(auth, "admin", ADMIN_PASSWORD)
        admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
        login = {"username": "outage-owner", "password": user.password}
        requests = {
            "catalog detail": lambda: client.build_request(
                "GET", f"{urls['catalog']}/api/v1/skills/outage-owner/steady"
            ),
            "catalog download": lambda: client.build_request(
                "GET",
                f"{urls['catalog']}/api/v1/skills/outage-owner/steady/versions/1.0.0/download",
            ),
            "catalog search": lambda: client.build_request(
                "GET", f"{urls['catalog']}/api/v1/skills", params={"q": "steady"}
            ),
            "auth login": lambda: client.build_request(
                "POST", f"{urls['auth']}/api/v1/auth/login", json=login
            ),
            "importer runs": lambda: client.build_request(
                "GET", f"{urls['importer']}/api/v1/imports", headers=admin_headers
            ),
        }
        stop = asyncio.Event()

        async def load(what: str) -> None:
            while not stop.is_set():
                timeline.samples.append(await _measure(client, what, requests[what]()))
                await asyncio.sleep(0.05)

        async def ready(name: str) -> None:
            while not stop.is_set():
                sample = await _measure(
                    client, name, client.build_request("GET", f"{urls[name]}/ready")
                )
                timeline.ready.append((name, sample.started, sample.status))
                await asyncio.sleep(0.1)

        tasks = [asyncio.create_task(load(what)) for what in requests]
        tasks += [asyncio.create_task(ready(name)) for name in SERVICES]
        await asyncio.sleep(1.0)
        queued = await client.post(
            f"{urls['importer']}/api/v1/imports",
            json={"url": stack.repo_url, "namespace": "team"},
            headers=admin_headers,
        )
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["id"]
        await asyncio.to_thread(stack.cluster.stop)
        timeline.down_at = time.monotonic()
        await asyncio.sleep(OUTAGE_S)
        timeline.restart_at = time.monotonic()
        await asyncio.to_thread(stack.cluster.start)
        timeline.up_at = time.monotonic()
        recovered = await _wait_recovered(client, urls)
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*tasks)
        state = await _wait_import(client, urls["importer"], run_id, admin_headers)
    return timeline, state, recovered


async def _wait_recovered(client: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, float]:
    """Seconds after PostgreSQL's return until each service's /ready answers 200."""
    start = time.monotonic()
    recovered: dict[str, float] = {}
    while len(recovered) < len(SERVICES) and time.monotonic() - start < 30:
        for name in SERVICES:
            if name not in recovered:
                answer = await client.get(f"{urls[name]}/ready")
                if answer.status_code == 200:
                    recovered[name] = time.monotonic() - start
        await asyncio.sleep(0.05)
    return recovered


async def _wait_import(
    client: httpx.AsyncClient, importer_url: str, run_id: str, headers: dict[str, str]
) -> str:
    deadline = time.monotonic() + 30
    state = "unknown"
    while time.monotonic() < deadline:
        answer = await client.get(f"{importer_url}/api/v1/imports/{run_id}", headers=headers)
        if answer.status_code == 200:
            state = str(answer.json()["state"])
            if state in ("succeeded", "partial", "failed"):
                return state
        await asyncio.sleep(0.25)
    return f"still {state} after 30 s"


def test_postgres_restart_answers_503_then_recovers(stack: Stack) -> None:
    timeline, import_state, recovered = asyncio.run(_scenario(stack))
    # "During": sent after the stop finished and before the start began (a request
    # sent while `pg_ctl start` runs may well be answered by the new server).
    down, up = timeline.down_at, timeline.restart_at
    during = [s for s in timeline.samples if down <= s.started < up]
    print(f"\nPostgreSQL down for {up - down:.1f} s; {len(timeline.samples)} requests in all")
    for what in sorted({s.what for s in timeline.samples}):
        mine = [s for s in during if s.what == what]
        statuses = sorted({s.status for s in mine})
        slowest = max((s.took for s in mine), default=0.0)
        print(
            f"  {what:18} during outage: {len(mine):3} requests, statuses {statuses}, "
            f"slowest {slowest * 1000:.0f} ms"
        )
    print(
        "  recovered (/ready 200) after PostgreSQL started: "
        + ", ".join(f"{n} {t:.2f} s" for n, t in recovered.items())
    )
    print(f"  import queued before the outage: {import_state}")

    bad = [s for s in timeline.samples if s.status not in (200, 503)]
    assert not bad, f"answers other than 200/503: {bad[:5]}\n{stack.logs()}"
    unavailable = [s for s in timeline.samples if s.status == 503]
    assert unavailable, "no request saw the outage"
    for sample in unavailable:
        assert sample.problem, f"a 503 that is not problem+json: {sample}"
        assert sample.retry_after, f"a 503 without Retry-After: {sample}"
    slow = [s for s in during if s.took > ANSWER_LIMIT_S]
    assert not slow, f"requests hung during the outage: {slow}"
    # The reads that need the database saw the outage (the pool did not hide it).
    assert {s.what for s in during if s.status == 503} >= {"auth login", "importer runs"}
    # /ready said so: no 200 from a probe that started while PostgreSQL was down
    # (a probe started just before the stop may still have been answered from a live connection).
    ready_during = [(n, st) for n, t, st in timeline.ready if down + 0.2 <= t < up]
    assert ready_during, "no /ready probe ran during the outage"
    assert all(status == 503 for _, status in ready_during), ready_during
    assert set(recovered) == set(SERVICES), (
        f"not recovered within 30 s: {recovered}\n{stack.logs()}"
    )
    assert max(recovered.values()) <= RECOVERY_LIMIT_S, recovered
    assert import_state == "succeeded", f"import: {import_state}\n{stack.logs()}"
