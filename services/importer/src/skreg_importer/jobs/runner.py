"""The one job function, the same under arq and in-process: `ImportRunner.execute(run_id)`.

Order of work (STYLE.md 5: no network I/O inside a transaction): claim the run in a
short transaction; then, outside any transaction, resolve and check the host, take a
global clone slot, `ls-remote` (unchanged since the last good run: done) or clone and
list the commit's tags (`fetch`), discover and validate in a thread, publish through
the catalog; then one short transaction records everything. A heartbeat keeps the
run's lease while this runs. Running the job twice gives the same catalog state:
publishing identical content is `unchanged`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import uuid
from collections.abc import AsyncIterator

import structlog
from skreg_common.db import utcnow
from skreg_common.outages import is_outage
from skreg_common.peers import PeerError
from skreg_proto.bundle import BundleLimits
from skreg_proto.codec import from_msgpack
from skreg_proto.importer import Credentials
from skreg_proto.internal import DeprecateRequest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_importer.crypto import SecretBox, SecretDecryptError
from skreg_importer.discovery import DiscoveredSkill, DiscoveryError, discover
from skreg_importer.failures import JobFailed
from skreg_importer.gitops.clone import GitAuth, GitClient, GitPolicy, Workspace, workspace
from skreg_importer.gitops.urls import (
    RepoUrl,
    UrlRefused,
    parse_repo_url,
    redact,
    resolve_and_check,
)
from skreg_importer.jobs.fetch import Outcome, fetch
from skreg_importer.jobs.publishing import publish_all
from skreg_importer.jobs.store import ClaimedRun, RunStore
from skreg_importer.pathfilters import PathFilter
from skreg_importer.publisher import CatalogPublisher
from skreg_importer.queue.dispatch import Dispatcher
from skreg_importer.queue.slots import CloneSlots
from skreg_importer.settings import ImporterSettings

log = structlog.get_logger(__name__)

CREDENTIALS_PURPOSE = "source-credentials"


def new_worker_id() -> str:
    """Identifies this process's leases: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def retry_job_id(run_id: str) -> str:
    """A fresh job id for re-running a run (the old id may still be held by arq)."""
    return f"import:{run_id}:{uuid.uuid4().hex[:8]}"


class ImportRunner:
    """Executes import runs; one per worker process (or per embedded app)."""

    def __init__(
        self,
        *,
        settings: ImporterSettings,
        sessions: async_sessionmaker[AsyncSession],
        publisher: CatalogPublisher,
        slots: CloneSlots,
        dispatcher: Dispatcher,
        worker_id: str | None = None,
        limits: BundleLimits | None = None,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.slots = slots
        self.dispatcher = dispatcher
        self.worker_id = worker_id or new_worker_id()
        self.limits = limits or BundleLimits()
        self.store = RunStore(sessions, self.worker_id, settings.importer_run_lease_seconds)
        self.box = SecretBox(settings.secret_key)
        self.git = GitClient(
            GitPolicy(
                allow_local=settings.importer_allow_local,
                timeout=settings.git_clone_timeout,
                max_repo_bytes=settings.max_repo_bytes,
                known_hosts=settings.importer_ssh_known_hosts,
            )
        )

    async def execute(self, run_id: str) -> None:
        """Run the import `run_id` once; a no-op when it is finished or owned elsewhere."""
        claimed = await self.store.claim(run_id)
        if claimed is None:
            log.info("import.skipped", run_id=run_id, reason="finished or owned by a live worker")
            return
        with structlog.contextvars.bound_contextvars(run_id=run_id, source_id=claimed.source_id):
            log.info("import.started", attempt=claimed.attempts, url=claimed.url)
            heartbeat = asyncio.create_task(self._heartbeat(run_id))
            try:
                await self._attempt(claimed)
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    async def _attempt(self, claimed: ClaimedRun) -> None:
        try:
            outcome = await self._work(claimed)
        except asyncio.CancelledError:
            # The worker is stopping: hand the run back untouched (not the run's fault).
            await asyncio.shield(
                self.store.requeue(
                    claimed.id,
                    job_id=claimed.job_id,
                    error=None,
                    not_before=None,
                    refund_attempt=True,
                )
            )
            log.info("import.released", reason="worker stopping")
            raise
        except JobFailed as exc:
            await self._failed(claimed, exc)
        except Exception as exc:  # a bug must fail the run, never leave it running
            if is_outage(exc):
                raise  # the database is away, not the run broken: the job is retried
            log.exception("import.crashed")
            await self._failed(
                claimed, JobFailed(f"internal error ({type(exc).__name__})", transient=False)
            )
        else:
            if await self.store.succeed(
                claimed,
                commit=outcome.commit,
                results=outcome.results,
            ):
                counts: dict[str, int] = {}
                for row in outcome.results:
                    counts[row.outcome] = counts.get(row.outcome, 0) + 1
                log.info("import.finished", commit=outcome.commit, **counts)
            else:
                log.warning("import.lease_lost", detail="another worker took the run over")

    async def _failed(self, claimed: ClaimedRun, exc: JobFailed) -> None:
        message = redact(exc.message, self._secrets(claimed))
        if exc.transient and claimed.attempts < self.settings.importer_max_attempts:
            delay = min(
                self.settings.importer_retry_backoff * 2 ** (claimed.attempts - 1),
                self.settings.importer_retry_backoff_max,
            )
            job_id = retry_job_id(claimed.id)
            not_before = utcnow() + dt.timedelta(seconds=delay)
            if await self.store.requeue(
                claimed.id,
                job_id=job_id,
                error=message,
                not_before=not_before,
            ):
                log.warning("import.retrying", error=message, delay=delay, attempt=claimed.attempts)
                await self.dispatcher.enqueue(claimed.id, job_id, defer_seconds=delay)
            return
        if exc.transient:
            message = f"{message} (gave up after {claimed.attempts} attempts)"
        await self.store.fail(claimed.id, message)
        log.warning("import.failed", error=message, attempt=claimed.attempts)

    async def _heartbeat(self, run_id: str) -> None:
        while True:
            await asyncio.sleep(self.store.lease_seconds / 3)
            try:
                if not await self.store.renew_lease(run_id):
                    log.warning("import.lease_lost", run_id=run_id)
                    return
            except Exception:  # a database blip must not kill the job; the next beat retries
                log.warning("import.heartbeat_failed", run_id=run_id, exc_info=True)

    def _auth(self, claimed: ClaimedRun) -> GitAuth:
        if not claimed.credentials_enc:
            return GitAuth()
        try:
            raw = self.box.open(claimed.credentials_enc, CREDENTIALS_PURPOSE)
        except SecretDecryptError as exc:
            raise JobFailed(
                "stored credentials cannot be decrypted (was SECRET_KEY changed?)", transient=False
            ) from exc
        creds = from_msgpack(raw, Credentials)
        return GitAuth(token=creds.token, username=creds.username, ssh_key_path=creds.ssh_key_path)

    def _secrets(self, claimed: ClaimedRun) -> list[str | None]:
        """Secret values to scrub from messages (git may echo them in its errors)."""
        try:
            return [self._auth(claimed).token]
        except (JobFailed, ValueError):  # undecryptable: nothing of it can leak either
            return []

    async def _work(self, claimed: ClaimedRun) -> Outcome:
        try:
            repo = parse_repo_url(claimed.url, allow_local=self.settings.importer_allow_local)
            # Resolved once; git connects to the address checked here (DNS rebinding).
            repo = await asyncio.to_thread(
                resolve_and_check, repo, allow_local=self.settings.importer_allow_local
            )
        except UrlRefused as exc:
            raise JobFailed(str(exc), transient=False) from exc
        auth = self._auth(claimed)
        async with _workspace() as space:
            fetched = await fetch(self.git, self.slots, self.store, claimed, (repo, auth, space))
            if isinstance(fetched, Outcome):
                return fetched
            skills = await self._discover(claimed, repo, space)
        try:
            results = await publish_all(
                self.publisher,
                claimed,
                repo,
                fetched.commit,
                skills,
                tags=fetched.tags,
                concurrency=self.settings.importer_publish_concurrency,
            )
            if claimed.source_id is not None:
                await self.publisher.deprecate(
                    DeprecateRequest(
                        namespace=claimed.namespace,
                        source_id=claimed.source_id,
                        keep=sorted({skill.name for skill in skills}),
                        reason="no longer in the repository (or excluded by the source's filters)",
                    )
                )
        except JobFailed:
            raise
        except PeerError as exc:
            raise JobFailed(f"catalog call failed: {exc}", transient=exc.transient) from exc
        except Exception as exc:
            raise JobFailed(f"catalog call failed: {exc}", transient=False) from exc
        return Outcome(commit=fetched.commit, results=results)

    async def _discover(
        self, claimed: ClaimedRun, repo: RepoUrl, space: Workspace
    ) -> list[DiscoveredSkill]:
        try:
            filters = PathFilter.of(claimed.include, claimed.exclude)
            return await asyncio.to_thread(
                discover, space.repo, claimed.subdirectory, repo.basename, self.limits, filters
            )
        except DiscoveryError as exc:
            raise JobFailed(str(exc), transient=False) from exc


@contextlib.asynccontextmanager
async def _workspace() -> AsyncIterator[Workspace]:
    # mkdtemp and rmtree block; a 1,000-skill checkout takes a moment to remove.
    manager = workspace()
    space = await asyncio.to_thread(manager.__enter__)
    try:
        yield space
    finally:
        await asyncio.shield(asyncio.to_thread(manager.__exit__, None, None, None))
