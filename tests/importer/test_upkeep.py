"""Embedded mode upkeep: queued runs resume at start-up, scheduled syncs start by
themselves, and a clone that times out is retried with backoff, then fails with the reason."""

from __future__ import annotations

import asyncio

import pytest
from arq.connections import ArqRedis
from redis.exceptions import ConnectionError as RedisConnectionError
from skreg_common.db import create_engine, create_sessionmaker
from skreg_importer.crypto import SecretBox
from skreg_importer.queue.dispatch import ArqDispatcher, job_deserializer, job_serializer
from skreg_importer.runs.service import RunRequests
from structlog.testing import capture_logs

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
