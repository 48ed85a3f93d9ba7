"""`python -m skreg_importer.worker [--burst]`: an arq worker executing import jobs.

Any number of these may run against one Redis: the clone cap (GIT_MAX_CONCURRENT) is
held in Redis, run leases in the database. At start-up and on a cron every
SYNC_CHECK_SECONDS a worker requeues runs whose worker died or whose enqueue failed
(Redis was down) and, with SYNC_ENABLED, starts due syncs (each source claimed by one
worker per interval, see queue.upkeep). A worker that loses Redis waits and starts
over instead of exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import structlog
from arq import Retry, cron
from arq.connections import RedisSettings
from arq.worker import Worker, func
from redis.exceptions import RedisError
from skreg_common.logging import configure_logging
from skreg_common.outages import is_outage
from skreg_common.runtime import Runtime
from skreg_common.settings import SettingsError, load_settings

from skreg_importer.crypto import SecretBox
from skreg_importer.jobs.runner import ImportRunner
from skreg_importer.publisher import CatalogPublisher, HttpCatalogPublisher
from skreg_importer.queue.dispatch import (
    JOB_FUNCTION,
    ArqDispatcher,
    decode_job,
    job_deserializer,
    job_serializer,
)
from skreg_importer.queue.slots import RedisSlots
from skreg_importer.queue.upkeep import recover_runs, schedule_due
from skreg_importer.runs.service import RunRequests
from skreg_importer.settings import ImporterSettings

log = structlog.get_logger(__name__)

# arq retries a job whose worker was stopped; our own attempt counter (in the run
# row) decides when a run gives up, so arq's limit only guards against loops.
ARQ_MAX_TRIES = 50
# Wait before a worker that lost Redis starts over (arq itself retries connecting 5 times).
REDIS_RETRY_S = 1.0


# While the database is away, a job tries again after this many seconds times its try
# number, at most OUTAGE_RETRY_MAX_S: a restart is over in seconds, a longer outage
# must not spin.
OUTAGE_RETRY_S = 2
OUTAGE_RETRY_MAX_S = 15


async def import_run(ctx: dict[str, Any], payload: bytes) -> None:
    """The arq job: decode the msgpack payload and run the import.

    A database outage (the run could not be claimed, or its outcome not written) is
    not the run's failure: the job is retried once the database may be back. Failing
    it instead left the run `queued` with a finished job of the same id in arq, which
    nothing would run again.
    """
    runner: ImportRunner = ctx["runner"]
    run_id = decode_job(payload).run_id
    try:
        await runner.execute(run_id)
    except Exception as exc:
        if not is_outage(exc):
            raise
        delay = min(OUTAGE_RETRY_S * int(ctx.get("job_try", 1)), OUTAGE_RETRY_MAX_S)
        log.warning("import.database_unavailable", run_id=run_id, retry_in=delay)
        raise Retry(defer=delay) from exc


async def upkeep(ctx: dict[str, Any]) -> None:
    """Recover runs of dead workers; start due syncs when SYNC_ENABLED."""
    settings: ImporterSettings = ctx["settings"]
    runtime: Runtime = ctx["runtime"]
    await recover_runs(runtime.sessions, ctx["dispatcher"], settings)
    if settings.sync_enabled:
        await schedule_due(runtime.sessions, ctx["requests"])


async def startup(ctx: dict[str, Any]) -> None:
    """Open the database, the catalog client and the shared clone cap; recover runs."""
    settings: ImporterSettings = ctx["settings"]
    runtime = Runtime.open(settings)
    dispatcher = ArqDispatcher(ctx["redis"], settings.importer_queue_name)
    publisher: CatalogPublisher = ctx.get("publisher") or HttpCatalogPublisher.connect(
        catalog_url=settings.catalog_url,
        auth_url=settings.auth_url,
        service_secret=settings.service_secret,
    )
    slots = RedisSlots(
        ctx["redis"], settings.git_max_concurrent, lease_seconds=settings.git_slot_lease_seconds
    )
    ctx.update(
        runtime=runtime,
        dispatcher=dispatcher,
        publisher=publisher,
        runner=ImportRunner(
            settings=settings,
            sessions=runtime.sessions,
            publisher=publisher,
            slots=slots,
            dispatcher=dispatcher,
        ),
        requests=RunRequests(
            runtime.sessions, dispatcher, settings, SecretBox(settings.secret_key)
        ),
    )
    recovered = await recover_runs(runtime.sessions, dispatcher, settings)
    log.info("worker.started", recovered=recovered, cap=settings.git_max_concurrent)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what `startup` opened."""
    publisher: CatalogPublisher | None = ctx.get("publisher")
    if publisher is not None:
        await publisher.close()
    runtime: Runtime | None = ctx.get("runtime")
    if runtime is not None:
        await runtime.close()


def upkeep_ticks(every_seconds: float) -> tuple[set[int], set[int] | None]:
    """arq cron (second, minute) sets that fire about every `every_seconds` (whole
    seconds, at least 1): under a minute, those seconds of every minute (a last, shorter
    gap when 60 is not a multiple); from a minute on, whole minutes at second 0."""
    step = max(1, round(every_seconds))
    if step < 60:
        return set(range(0, 60, step)), None
    return {0}, set(range(0, 60, step // 60))


def worker_settings(settings: ImporterSettings, *, burst: bool = False) -> dict[str, Any]:
    """The arq `WorkerSettings` for these settings (keyword arguments of `arq.Worker`)."""
    if not settings.redis_url:
        raise SettingsError("the importer worker needs REDIS_URL")
    seconds, minutes = upkeep_ticks(settings.sync_check_seconds)
    return {
        "functions": [
            func(
                import_run,
                name=JOB_FUNCTION,
                max_tries=ARQ_MAX_TRIES,
                timeout=settings.importer_job_timeout,
            )
        ],
        "cron_jobs": [cron(upkeep, second=seconds, minute=minutes, timeout=120)],
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "queue_name": settings.importer_queue_name,
        "job_serializer": job_serializer,
        "job_deserializer": job_deserializer,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {"settings": settings},
        "max_jobs": settings.importer_worker_max_jobs,
        "job_timeout": settings.importer_job_timeout,
        "keep_result": 3600,
        "burst": burst,
        "poll_delay": 0.2,
        "handle_signals": True,
    }


def build_worker(settings: ImporterSettings, *, burst: bool = False) -> Worker:
    """An arq worker for these settings."""
    return Worker(**worker_settings(settings, burst=burst))


def main(argv: list[str] | None = None) -> None:
    """Read settings, run the worker until stopped (or, with --burst, until the queue is empty)."""
    parser = argparse.ArgumentParser(prog="skreg_importer.worker", description=main.__doc__)
    parser.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(ImporterSettings)
        worker = build_worker(settings, burst=args.burst)
    except SettingsError as exc:
        sys.stderr.write(f"skreg-importer-worker: {exc}\n")
        raise SystemExit(2) from exc
    configure_logging(settings.log_level, settings.log_json)
    while True:
        try:
            worker.run()
            return
        except (RedisError, OSError) as exc:
            # arq stops at the first failed poll. Redis going away is an outage to wait
            # out, not a reason to exit: the runs requested meanwhile wait in the database
            # and the next start-up's upkeep enqueues them.
            if args.burst:
                raise
            log.warning("worker.redis_lost", error=repr(exc), retry_in=REDIS_RETRY_S)
        loop = asyncio.get_event_loop()
        # arq's close failed before its on_shutdown: close the database pool here.
        loop.run_until_complete(shutdown(worker.ctx))
        loop.run_until_complete(asyncio.sleep(REDIS_RETRY_S))
        worker = build_worker(settings, burst=args.burst)


if __name__ == "__main__":
    main()
