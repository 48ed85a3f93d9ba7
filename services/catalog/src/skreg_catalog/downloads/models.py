"""Download counts per version per day, and who was already counted that day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base


class DownloadDay(Base):
    """How many distinct clients downloaded one version on one (UTC) day."""

    __tablename__ = "catalog_download_days"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class DownloadClient(Base):
    """A client already counted for a version on a day; `client` is a keyed hash, never an IP."""

    __tablename__ = "catalog_download_clients"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
