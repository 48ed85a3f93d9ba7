"""The `importer_runs` and `importer_results` tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from skreg_importer.database import Base
from skreg_importer.sources.models import DEFAULT_VERSION_POLICY, new_id

QUEUED, RUNNING, SUCCEEDED, PARTIAL, FAILED = "queued", "running", "succeeded", "partial", "failed"
ACTIVE_STATES = (QUEUED, RUNNING)
RUN_STATES = (QUEUED, RUNNING, SUCCEEDED, PARTIAL, FAILED)
# Outcomes that leave a finished run `partial` rather than `succeeded`.
PROBLEM_OUTCOMES = frozenset({"invalid", "conflict", "duplicate", "rejected"})


class ImportRun(Base):
    """One sync or one-off import: created before its job is enqueued, then the truth.

    The run carries a snapshot of what to import (URL, ref, subdirectory, namespace,
    path filters, version policy, sealed credentials), so a job needs nothing else.
    `lease_owner`/`lease_expires_at` are renewed by the worker's heartbeat; an expired
    lease means the worker died and the run is queued again.
    """

    __tablename__ = "importer_runs"
    __table_args__ = (
        UniqueConstraint("source_id", "generation"),
        Index("ix_importer_runs_state_created", "state", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    source_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("importer_sources.id", ondelete="SET NULL"), index=True
    )
    generation: Mapped[int | None] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(2048))
    ref: Mapped[str | None] = mapped_column(String(255))
    subdirectory: Mapped[str | None] = mapped_column(String(1024))
    namespace: Mapped[str] = mapped_column(String(64))
    include: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclude: Mapped[list[str]] = mapped_column(JSON, default=list)
    version_policy: Mapped[str] = mapped_column(String(32), default=DEFAULT_VERSION_POLICY)
    visibility: Mapped[str | None] = mapped_column(String(16))  # the source's, when queued
    owner: Mapped[str | None] = mapped_column(String(64))
    credentials_enc: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    job_id: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    commit: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    results: Mapped[list[ImportResult]] = relationship(
        back_populates="run",
        order_by="ImportResult.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ImportResult(Base):
    """What happened to one discovered skill in one run."""

    __tablename__ = "importer_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("importer_runs.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(255))
    digest: Mapped[str | None] = mapped_column(String(80))
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    run: Mapped[ImportRun] = relationship(back_populates="results")
