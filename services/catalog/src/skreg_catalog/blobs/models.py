"""Bundles, stored once per canonical digest (content-addressed)."""

from __future__ import annotations

import datetime as dt

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base


class Blob(Base):
    """The bytes of one bundle as first uploaded; every version with this digest shares it."""

    __tablename__ = "catalog_blobs"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Purged: `data` emptied once no version that may still be served refers to it.
    # The row stays for the versions' foreign keys; storing the digest again refills it.
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
