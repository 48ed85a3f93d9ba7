"""The arq internals the importer relies on, checked against the real arq and real Redis.

Job status is read through arq's public `Job` API, but dropping the job of a worker
that died has no public call: `ArqDispatcher.discard` deletes the keys arq keeps for
the job. arq is pinned below 0.29 for that; this test fails loudly if the layout it
depends on changes (a new per-job key, a renamed prefix).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from arq.connections import RedisSettings
from arq.jobs import Job, JobStatus
from arq.worker import Worker, func
from redis.asyncio import Redis
from skreg_importer.queue.dispatch import (
    JOB_FUNCTION,
    ArqDispatcher,
    arq_pool,
    job_deserializer,
    job_serializer,
)

from tests.conftest import REDIS_URL


async def test_discard_removes_every_key_arq_keeps_for_a_job_a_dead_worker_held(
    redis_client: Redis,
) -> None:
    queue = f"skreg:test:{uuid.uuid4().hex[:12]}"
    job_id = f"import:{uuid.uuid4().hex}"
    started = asyncio.Event()

    async def import_run(_ctx: dict[str, Any], _payload: bytes) -> None:
        started.set()
        await asyncio.Event().wait()  # a worker that hangs: it will never finish the job

    dispatcher = ArqDispatcher(await arq_pool(REDIS_URL, queue), queue, owns_pool=True)
    worker = Worker(
        functions=[func(import_run, name=JOB_FUNCTION)],
        redis_settings=RedisSettings.from_dsn(REDIS_URL),
        queue_name=queue,
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        handle_signals=False,
        poll_delay=0.05,
    )
    running = None
    try:
        assert await dispatcher.enqueue("run-1", job_id)
        assert not await dispatcher.enqueue("run-1", job_id)  # one job per id
        assert await dispatcher.is_pending(job_id)  # queued

        running = asyncio.create_task(worker.main())
        await asyncio.wait_for(started.wait(), timeout=30)
        job = Job(job_id, redis_client, _queue_name=queue, _deserializer=job_deserializer)
        assert await job.status() == JobStatus.in_progress
        assert await dispatcher.is_pending(job_id)
        # Every key arq holds for a running job: what `discard` has to remove.
        held = {key.decode() for key in await redis_client.keys(f"*{job_id}*")}
        assert held == {f"arq:job:{job_id}", f"arq:in-progress:{job_id}", f"arq:retry:{job_id}"}
        assert await redis_client.zscore(queue, job_id) is not None

        await dispatcher.discard(job_id)

        assert await redis_client.keys(f"*{job_id}*") == []
        assert await redis_client.zscore(queue, job_id) is None
        assert await job.status() == JobStatus.not_found
        assert not await dispatcher.is_pending(job_id)
        # A fresh job may now take the id over (arq refuses while any of those keys exist).
        assert await dispatcher.enqueue("run-1", job_id, defer_seconds=3600)
        assert await job.status() == JobStatus.deferred
        assert await dispatcher.is_pending(job_id)
    finally:
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await worker.close()
        await dispatcher.close()


async def test_a_finished_job_id_is_refused_until_discarded(redis_client: Redis) -> None:
    """A job that ended without ending its run (it failed while the database was away)
    leaves its result under the job id, and arq refuses that id again: upkeep's
    re-enqueue only works after `discard` removed the result too."""
    queue = f"skreg:test:{uuid.uuid4().hex[:12]}"
    job_id = f"import:{uuid.uuid4().hex}"

    async def import_run(_ctx: dict[str, Any], _payload: bytes) -> None:
        raise RuntimeError("the database went away")

    dispatcher = ArqDispatcher(await arq_pool(REDIS_URL, queue), queue, owns_pool=True)
    worker = Worker(
        functions=[func(import_run, name=JOB_FUNCTION)],
        redis_settings=RedisSettings.from_dsn(REDIS_URL),
        queue_name=queue,
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        handle_signals=False,
        poll_delay=0.05,
        burst=True,
        keep_result=3600,
    )
    try:
        assert await dispatcher.enqueue("run-1", job_id)
        await asyncio.wait_for(worker.main(), timeout=30)  # burst: runs the job, then returns
        job = Job(job_id, redis_client, _queue_name=queue, _deserializer=job_deserializer)
        assert await job.status() == JobStatus.complete
        assert not await dispatcher.is_pending(job_id)
        assert not await dispatcher.enqueue("run-1", job_id)  # refused: the result is kept

        await dispatcher.discard(job_id)

        assert await redis_client.keys(f"*{job_id}*") == []
        assert await dispatcher.enqueue("run-1", job_id, defer_seconds=3600)
        assert await dispatcher.is_pending(job_id)
    finally:
        await worker.close()
        await dispatcher.close()
