"""The `importer_webhook_deliveries` table: signed push deliveries already acted on."""

from __future__ import annotations

import datetime as dt

from skreg_common.db import UTCDateTime
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from skreg_importer.database import Base


class WebhookDelivery(Base):
    """One GitHub-signed push body (by SHA-256) that started a sync, kept for a day.

    A GitHub signature covers the body only, so whoever saw one delivery could send it
    again at will; remembering the bodies makes a replay a no-op. Rows of a deleted
    source go with it.
    """

    __tablename__ = "importer_webhook_deliveries"

    source_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("importer_sources.id", ondelete="CASCADE"), primary_key=True
    )
    body_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
