"""What the importer's handlers share for the life of the app, built at start-up.

The component builds it when the app starts and hands it to handlers as the
`importer` dependency (as the catalog hands out its `CatalogContext`).

With `REDIS_URL`, this process only enqueues (arq workers execute). Without it, this
process also executes: an `ImportRunner` under the local clone cap, a resume of
queued runs at start-up, and an upkeep loop (recovery, plus schedules when
SYNC_ENABLED).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from skreg_common.runtime import Runtime

from skreg_importer.crypto import SecretBox
from skreg_importer.jobs.runner import ImportRunner
from skreg_importer.publisher import CatalogPublisher, HttpCatalogPublisher
from skreg_importer.queue.dispatch import ArqDispatcher, Dispatcher, InProcessDispatcher, arq_pool
from skreg_importer.queue.slots import LocalSlots
from skreg_importer.queue.upkeep import recover_runs, schedule_due
from skreg_importer.runs.service import RunRequests
from skreg_importer.settings import ImporterSettings
from skreg_importer.webhooks.service import WebhookService

log = structlog.get_logger(__name__)


@dataclass
class ImporterContext:
    """Settings, secrets box, queue and services; `runner` only in embedded mode."""

    settings: ImporterSettings
    box: SecretBox
    dispatcher: Dispatcher
    requests: RunRequests
    webhooks: WebhookService
    runner: ImportRunner | None = None
    publisher: CatalogPublisher | None = None
    owns_publisher: bool = False
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def close(self) -> None:
        """Stop background work (runs in flight go back to `queued`) and release clients."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.dispatcher.close()
        if self.publisher is not None and self.owns_publisher:
            await self.publisher.close()


async def _upkeep_loop(context: ImporterContext, runtime: Runtime) -> None:
    settings = context.settings
    while True:
        try:
            await recover_runs(runtime.sessions, context.dispatcher, settings)
            if settings.sync_enabled:
                await schedule_due(runtime.sessions, context.requests)
        except Exception:  # keep the loop alive through database blips
            log.warning("import.upkeep_failed", exc_info=True)
        await asyncio.sleep(settings.sync_check_seconds)


async def start_importer(
    settings: ImporterSettings,
    runtime: Runtime,
    *,
    publisher: CatalogPublisher | None = None,
    catalog_transport: httpx.AsyncBaseTransport | None = None,
) -> ImporterContext:
    """Build the context for this process (see the module docstring for the two modes)."""
    box = SecretBox(settings.secret_key)
    if settings.redis_url:
        pool = await arq_pool(settings.redis_url, settings.importer_queue_name)
        dispatcher: Dispatcher = ArqDispatcher(pool, settings.importer_queue_name, owns_pool=True)
        requests = RunRequests(runtime.sessions, dispatcher, settings, box)
        return ImporterContext(
            settings=settings,
            box=box,
            dispatcher=dispatcher,
            requests=requests,
            webhooks=WebhookService(runtime.sessions, box, requests),
        )
    owns = publisher is None
    publisher = publisher or HttpCatalogPublisher.connect(
        catalog_url=settings.catalog_url,
        auth_url=settings.auth_url,
        service_secret=settings.service_secret,
        transport=catalog_transport,
    )
    local = InProcessDispatcher()
    runner = ImportRunner(
        settings=settings,
        sessions=runtime.sessions,
        publisher=publisher,
        slots=LocalSlots(settings.git_max_concurrent),
        dispatcher=local,
    )
    local.bind(runner.execute)
    requests = RunRequests(runtime.sessions, local, settings, box)
    context = ImporterContext(
        settings=settings,
        box=box,
        dispatcher=local,
        requests=requests,
        webhooks=WebhookService(runtime.sessions, box, requests),
        runner=runner,
        publisher=publisher,
        owns_publisher=owns,
    )
    # Resume what an earlier process left queued; its running runs come back once
    # their leases expire (the upkeep loop checks every SYNC_CHECK_SECONDS).
    await recover_runs(runtime.sessions, local, settings, queued_grace_seconds=0)
    context.tasks.append(
        asyncio.create_task(_upkeep_loop(context, runtime), name="importer-upkeep")
    )
    return context
