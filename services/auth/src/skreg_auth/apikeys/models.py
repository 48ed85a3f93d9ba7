"""The API keys table."""

from __future__ import annotations

import datetime as dt

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from skreg_auth.database import Base


class ApiKey(Base):
    """A key `sr_<id>_<secret>`; `id` is the primary key (O(1) lookup), SHA-256(secret) kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(64))  # space-separated, e.g. "read publish"
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def scope_list(self) -> list[str]:
        """The scopes as a list."""
        return self.scopes.split()
