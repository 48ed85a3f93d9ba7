"""Embedded mode upkeep: queued runs resume at start-up, scheduled syncs start by
themselves (once per interval even when two upkeeps race), and a clone that times out
is retried with backoff, then fails with the reason."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from skreg_common.db import create_engine, create_sessionmaker, utcnow
from skreg_importer.crypto import SecretBox
from skreg_importer.queue.dispatch import (
    ArqDispatcher,
    arq_pool,
    job_deserializer,
    job_serializer,
)
from skreg_importer.queue.upkeep import due_sources, schedule_due, start_claimed
from skreg_importer.runs.models import ImportRun
from skreg_importer.runs.service import RunRequests
from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from tests.conftest import REDIS_URL
from tests.importer.conftest import IMPORTS, SOURCES, importer_settings, open_stack
from tests.importer.gitrepos import GitDaemon, Repo, free_port


async def test_queued_runs_resume_at_start_up(
    database_url: str, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/resumed")
    repo.commit()
    async with open_stack(database_url) as stack:
        source = await stack.add_source(daemon.url("skills.git"))
    settings = importer_settings(database_url)
    # The real arq dispatcher, its Redis gone: nothing listens on that port.
    unreachable = ArqRedis(
        host="127.0.0.1",
        port=free_port(),
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
    )
    dispatcher = ArqDispatcher(unreachable, settings.importer_queue_name, owns_pool=True)
    with pytest.raises(RedisConnectionError):
        await dispatcher.enqueue("probe", "import:probe")
    engine = create_engine(database_url)
    requests = RunRequests(
        create_sessionmaker(engine), dispatcher, settings, SecretBox(settings.secret_key)
    )
    try:
        with capture_logs() as logs:  # also spares rendering the traceback on the console
            run, created = await requests.sync_source(source["id"])
    finally:
        await dispatcher.close()
        await engine.dispose()
    assert created
    assert run.state == "queued"  # recorded although the enqueue failed
    failed = [entry for entry in logs if entry["event"] == "import.enqueue_failed"]
    assert [entry["run_id"] for entry in failed] == [run.id]

    async with open_stack(database_url) as stack:
        finished = await stack.wait(run.id)
    assert finished["state"] == "succeeded", finished["error"]
    assert [r["name"] for r in finished["results"]] == ["resumed"]


async def test_scheduler_starts_due_syncs(database_url: str, daemon: GitDaemon, repo: Repo) -> None:
    repo.skill("skills/scheduled")
    repo.commit()
    async with open_stack(database_url, sync_enabled=True, sync_check_seconds=0.1) as stack:
        source = await stack.add_source(daemon.url("skills.git"), interval=3600)
        disabled = await stack.add_source(daemon.url("skills.git"), namespace="off", enabled=False)
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            runs = (await stack.client.get(IMPORTS, params={"source_id": source["id"]})).json()[
                "items"
            ]
            if runs and runs[0]["state"] == "succeeded":
                break
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a few more ticks: nothing new is due for an hour
        again = (await stack.client.get(IMPORTS, params={"source_id": source["id"]})).json()
        off = (await stack.client.get(IMPORTS, params={"source_id": disabled["id"]})).json()
        detail = (await stack.client.get(f"{SOURCES}/{source['id']}")).json()
    assert runs[0]["trigger"] == "schedule"
    assert again["total"] == 1
    assert off["total"] == 0
    assert detail["last_synced_at"] is not None


async def test_clone_timeout_retries_then_fails_with_the_reason(
    database_url: str, black_hole: int
) -> None:
    async with open_stack(database_url, git_clone_timeout=0.5, importer_max_attempts=2) as stack:
        source = await stack.add_source(f"git://127.0.0.1:{black_hole}/stuck.git")
        run = await stack.sync_and_wait(source["id"])
    assert run["state"] == "failed"
    assert run["attempts"] == 2
    assert "took longer than 0.5 s and was killed" in run["error"]
    assert "gave up after 2 attempts" in run["error"]


async def test_two_upkeeps_racing_start_one_sync_per_interval(
    database_url: str, redis_client: Redis
) -> None:
    """Two processes' upkeeps both list a source as due; the first starts its sync and
    the import finishes at once; the second must not start another in the same interval
    (it used to: `sync_source` found no active run). Then both at once: one sync."""
    async with open_stack(database_url) as stack:
        source = await stack.add_source("git://127.0.0.1:9/never-cloned.git", interval=3600)
    settings = importer_settings(database_url)
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    # The real queue on the test Redis: the runs are enqueued there and never consumed.
    pool = await arq_pool(REDIS_URL, "skreg:test-upkeep-race")
    upkeeps = [
        RunRequests(sessions, ArqDispatcher(pool, "skreg:test-upkeep-race"), settings, box)
        for box in (SecretBox(settings.secret_key), SecretBox(settings.secret_key))
    ]

    async def finish_runs() -> None:  # as if the import had been quick
        async with sessions.begin() as session:
            await session.execute(update(ImportRun).values(state="succeeded"))

    async def runs() -> int:
        async with sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(ImportRun)) or 0)

    try:
        now = utcnow()
        seen_by_first = await due_sources(sessions, now)
        seen_by_second = await due_sources(sessions, now)
        assert seen_by_first == seen_by_second == [source["id"]]
        assert len(await start_claimed(sessions, upkeeps[0], seen_by_first, now)) == 1
        await finish_runs()
        assert await start_claimed(sessions, upkeeps[1], seen_by_second, now) == []
        assert await runs() == 1

        # Next interval: both upkeeps tick at the same moment.
        later = utcnow() + dt.timedelta(seconds=3601)
        started = await asyncio.gather(
            *(schedule_due(sessions, upkeep, later) for upkeep in upkeeps)
        )
        assert sorted(len(s) for s in started) == [0, 1]
        assert await runs() == 2
    finally:
        await pool.aclose()
        await engine.dispose()
