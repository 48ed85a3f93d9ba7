"""Importer settings: the common ones plus Git, sync and queue knobs (env names upper-cased)."""

from __future__ import annotations

from skreg_common.settings import ServiceSettings


class ImporterSettings(ServiceSettings, frozen=True, kw_only=True):
    """Everything the importer API and worker read from the environment.

    `GIT_MAX_CONCURRENT` caps clones across every worker process sharing `REDIS_URL`
    (or within this process when there is no Redis). `IMPORTER_ALLOW_LOCAL` lets
    sources use `file://`, plain `http://` and loopback hosts: tests and laptops only.
    """

    git_clone_timeout: float = 60.0
    git_max_concurrent: int = 5
    git_slot_lease_seconds: float = 30.0
    sync_enabled: bool = False
    sync_interval: int = 3600
    sync_check_seconds: float = 30.0
    importer_allow_local: bool = False
    importer_max_repo_mb: int = 200
    importer_max_attempts: int = 3
    importer_retry_backoff: float = 5.0
    importer_retry_backoff_max: float = 300.0
    importer_run_lease_seconds: float = 30.0
    # A run still queued this long after its last change, yet missing from the queue (its
    # enqueue failed while Redis was down), is enqueued again by upkeep.
    importer_queued_grace_seconds: float = 60.0
    importer_publish_concurrency: int = 8
    importer_queue_name: str = "skreg:importer:queue"
    importer_job_timeout: float = 1800.0
    importer_worker_max_jobs: int = 10
    importer_webhook_max_bytes: int = 1024 * 1024
    importer_ssh_known_hosts: str | None = None

    @property
    def max_repo_bytes(self) -> int:
        """`IMPORTER_MAX_REPO_MB` in bytes."""
        return self.importer_max_repo_mb * 1024 * 1024

    def production_problems(self) -> list[str]:
        """The common checks, plus a usable clone cap."""
        problems = super().production_problems()
        if self.git_max_concurrent < 1:
            problems.append("GIT_MAX_CONCURRENT must be at least 1")
        return problems
