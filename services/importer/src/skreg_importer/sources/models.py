"""The `importer_sources` table."""

from __future__ import annotations

import datetime as dt
import uuid

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from skreg_importer.database import Base

DEFAULT_VERSION_POLICY = "declared"


def new_id() -> str:
    """A random 32-hex id (unguessable: webhook URLs contain it)."""
    return uuid.uuid4().hex


class Source(Base):
    """A Git repository that skills are imported from into one namespace.

    Secrets (`webhook_secret_enc`, `credentials_enc`) are AES-GCM sealed with a key
    derived from SECRET_KEY; `url` never holds credentials. `generation` grows by one
    per enqueued run and names the job, so a double click enqueues once.
    """

    __tablename__ = "importer_sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2048))
    ref: Mapped[str | None] = mapped_column(String(255))
    subdirectory: Mapped[str | None] = mapped_column(String(1024))
    namespace: Mapped[str] = mapped_column(String(64), index=True)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_secret_enc: Mapped[str | None] = mapped_column(Text)
    credentials_enc: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    last_commit: Mapped[str | None] = mapped_column(String(64))
    last_success_run_id: Mapped[str | None] = mapped_column(String(32))
    last_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_sync_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Path filters (globs, see pathfilters) and how versions are taken (VersionPolicy).
    include: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclude: Mapped[list[str]] = mapped_column(JSON, default=list)
    version_policy: Mapped[str] = mapped_column(String(32), default=DEFAULT_VERSION_POLICY)
    # What skills this source creates are visible to; None: the namespace's default.
    visibility: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
