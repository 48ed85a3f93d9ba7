"""Handing a run to whatever executes it: arq on Redis, or asyncio tasks in this process.

Both take the same `(run_id, job_id)`; the job id is derived from the source and its
generation (or the run), so enqueueing the same thing twice does nothing the second time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import (
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.jobs import Job, JobStatus
from skreg_proto.codec import from_msgpack, to_msgpack
from skreg_proto.importer import ImportJob

log = structlog.get_logger(__name__)

JOB_FUNCTION = "import_run"
# Queued, waiting out a retry delay, or being run by a worker.
PENDING = frozenset({JobStatus.queued, JobStatus.deferred, JobStatus.in_progress})


def job_serializer(data: dict[str, Any]) -> bytes:
    """arq's job envelope as msgpack (never pickle); our payload inside is msgpack too."""
    return to_msgpack(data)


def job_deserializer(raw: bytes) -> dict[str, Any]:
    """Inverse of `job_serializer`: plain data only, nothing is instantiated."""
    return from_msgpack(raw, dict[str, Any])


def encode_job(run_id: str) -> bytes:
    """The payload of one import job."""
    return to_msgpack(ImportJob(run_id=run_id))


def decode_job(payload: bytes) -> ImportJob:
    """Validate and decode a job payload (raises on anything but an `ImportJob`)."""
    return from_msgpack(payload, ImportJob)


class Dispatcher(Protocol):
    """Where runs go to be executed."""

    async def enqueue(self, run_id: str, job_id: str, *, defer_seconds: float = 0) -> bool:
        """Queue `run_id` under `job_id`; False when that job id is already queued."""
        ...

    async def is_pending(self, job_id: str) -> bool:
        """True while a job with this id is queued or running."""
        ...

    async def discard(self, job_id: str) -> None:
        """Forget a job whose worker died (or that finished without finishing its run),
        so the same or a fresh job can take over its run."""
        ...

    async def close(self) -> None:
        """Stop (in-process: cancel running jobs, which put their runs back to queued)."""
        ...


async def arq_pool(redis_url: str, queue_name: str) -> ArqRedis:
    """An arq Redis pool that speaks msgpack."""
    return await create_pool(
        RedisSettings.from_dsn(redis_url),
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        default_queue_name=queue_name,
    )


class ArqDispatcher:
    """Enqueues on arq; the workers (`python -m skreg_importer.worker`) run the jobs."""

    def __init__(self, pool: ArqRedis, queue_name: str, *, owns_pool: bool = False) -> None:
        self.pool = pool
        self.queue_name = queue_name
        self._owns_pool = owns_pool

    async def enqueue(self, run_id: str, job_id: str, *, defer_seconds: float = 0) -> bool:
        job = await self.pool.enqueue_job(
            JOB_FUNCTION,
            encode_job(run_id),
            _job_id=job_id,
            _queue_name=self.queue_name,
            _defer_by=defer_seconds or None,
        )
        return job is not None

    async def is_pending(self, job_id: str) -> bool:
        job = Job(job_id, self.pool, _queue_name=self.queue_name, _deserializer=job_deserializer)
        return await job.status() in PENDING

    async def discard(self, job_id: str) -> None:
        # arq has no public way to drop a job whose worker died (`Job.abort` needs a
        # live worker to cancel it), so this removes the keys arq keeps for a job.
        # That layout is arq's private business: arq is pinned below 0.29 and
        # tests/importer/test_arq_keys.py checks it against the real arq and Redis.
        async with self.pool.pipeline(transaction=True) as pipe:
            pipe.zrem(self.queue_name, job_id)
            # The result too: arq refuses to enqueue a job id whose result it still keeps.
            pipe.delete(
                job_key_prefix + job_id,
                in_progress_key_prefix + job_id,
                retry_key_prefix + job_id,
                result_key_prefix + job_id,
            )
            await pipe.execute()

    async def close(self) -> None:
        if self._owns_pool:
            await self.pool.aclose()


class InProcessDispatcher:
    """Runs jobs as asyncio tasks in this process (embedded mode, no Redis)."""

    def __init__(self) -> None:
        self._execute: Callable[[str], Awaitable[None]] | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def bind(self, execute: Callable[[str], Awaitable[None]]) -> None:
        """Set the job function (the runner needs this dispatcher for retries: a cycle)."""
        self._execute = execute

    async def _run(self, run_id: str, defer_seconds: float) -> None:
        if defer_seconds > 0:
            await asyncio.sleep(defer_seconds)
        assert self._execute is not None
        await self._execute(run_id)

    async def enqueue(self, run_id: str, job_id: str, *, defer_seconds: float = 0) -> bool:
        if await self.is_pending(job_id):
            return False
        task = asyncio.create_task(self._run(run_id, defer_seconds), name=f"import:{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda done: self._forget(job_id, done))
        return True

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("import.job_crashed", job_id=job_id, error=repr(task.exception()))

    async def is_pending(self, job_id: str) -> bool:
        task = self._tasks.get(job_id)
        return task is not None and not task.done()

    async def discard(self, job_id: str) -> None:
        task = self._tasks.pop(job_id, None)
        if task is not None:
            task.cancel()

    async def wait_idle(self) -> None:
        """Wait until no job is running or queued (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
