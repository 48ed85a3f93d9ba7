"""An import job that meets a database outage is retried by arq, not failed.

Found by tests/faults/test_postgres_restart.py: a job that could not claim its run
while PostgreSQL restarted failed, and the run stayed `queued` for good. Here the
real job function runs against a PostgreSQL port nobody listens on (refused, as
during a restart) and must ask arq to retry with a growing delay; a bug (a database
without the importer's tables) must still fail the job as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from arq import Retry
from skreg_common.db import create_engine, create_sessionmaker
from skreg_importer.jobs.runner import ImportRunner
from skreg_importer.publisher import HttpCatalogPublisher
from skreg_importer.queue.dispatch import InProcessDispatcher, encode_job
from skreg_importer.queue.slots import LocalSlots
from skreg_importer.worker import OUTAGE_RETRY_MAX_S, import_run
from sqlalchemy.exc import OperationalError

from tests.importer.conftest import importer_settings
from tests.support.processes import free_port


@asynccontextmanager
async def _runner(database_url: str) -> AsyncIterator[ImportRunner]:
    engine = create_engine(database_url)
    unreachable = f"http://127.0.0.1:{free_port()}"
    publisher = HttpCatalogPublisher.connect(
        catalog_url=unreachable, auth_url=unreachable, service_secret="s" * 40
    )
    try:
        yield ImportRunner(
            settings=importer_settings(database_url),
            sessions=create_sessionmaker(engine),
            publisher=publisher,
            slots=LocalSlots(1),
            dispatcher=InProcessDispatcher(),
        )
    finally:
        await publisher.close()
        await engine.dispose()


async def test_a_job_is_retried_while_the_database_is_away() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/skreg"
    async with _runner(url) as runner:
        delays = []
        for job_try in (1, 2, 30):
            with pytest.raises(Retry) as raised:
                await import_run({"runner": runner, "job_try": job_try}, encode_job("run-1"))
            delays.append(raised.value.defer_score)
        assert delays == [2000, 4000, OUTAGE_RETRY_MAX_S * 1000]


async def test_a_bug_still_fails_the_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-tables.db'}"  # the importer's tables are missing
    async with _runner(url) as runner:
        with pytest.raises(OperationalError, match="no such table"):
            await import_run({"runner": runner, "job_try": 1}, encode_job("run-1"))
