"""Source models to the public Structs (models never leave the service)."""

from __future__ import annotations

from dataclasses import dataclass, field

from skreg_proto.importer import Source as SourceOut

from skreg_importer.sources.models import Source


def webhook_path(source_id: str) -> str:
    """Where the Git host posts push events for this source."""
    return f"/api/v1/sources/{source_id}/webhook"


@dataclass(frozen=True)
class LastRun:
    """A source's most recent run, as its list row and page show it."""

    id: str
    state: str
    counts: dict[str, int] = field(default_factory=dict)


def to_source(source: Source, last_run: LastRun | None = None) -> SourceOut:
    """The API view of a source: no secrets, only whether they are set."""
    return SourceOut(
        id=source.id,
        url=source.url,
        namespace=source.namespace,
        ref=source.ref,
        subdirectory=source.subdirectory,
        interval=source.interval_seconds,
        enabled=source.enabled,
        has_webhook_secret=source.webhook_secret_enc is not None,
        has_credentials=source.credentials_enc is not None,
        webhook_path=webhook_path(source.id),
        last_commit=source.last_commit,
        last_synced_at=source.last_synced_at,
        last_run_id=last_run.id if last_run else None,
        last_run_state=last_run.state if last_run else None,  # type: ignore[arg-type]
        last_run_counts=last_run.counts if last_run else {},
        created_at=source.created_at,
        updated_at=source.updated_at,
        include=list(source.include or ()),
        exclude=list(source.exclude or ()),
        version_policy=source.version_policy,  # type: ignore[arg-type]
        visibility=source.visibility,  # type: ignore[arg-type]
    )
