"""The review audit trail and rescan jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base


class ReviewEvent(Base):
    """One thing that happened to a version's review: held, approved, rejected, disputed,
    flagged or cleared by a rescan. Append-only: the audit trail of every decision."""

    __tablename__ = "catalog_review_events"
    __table_args__ = (Index("ix_catalog_review_events_version_id", "version_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(64))  # a username; None: the registry
    note: Mapped[str] = mapped_column(Text, default="")
    # For a dispute: the finding it is about {rule, file, line}.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RescanJob(Base):
    """An admin-triggered rescan of every stored version, with its progress and its diff."""

    __tablename__ = "catalog_rescans"
    # At most one running job, on both backends, whatever races to start one.
    __table_args__ = (
        Index(
            "ix_catalog_rescans_one_running",
            "state",
            unique=True,
            sqlite_where=text("state = 'running'"),
            postgresql_where=text("state = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # running | finished | failed
    rules_version: Mapped[str] = mapped_column(String(64))
    started_by: Mapped[str | None] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # [{namespace, name, version, before, after, review_state}] for each verdict change.
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Last batch written: a running job silent for long was lost with its process.
    progressed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
