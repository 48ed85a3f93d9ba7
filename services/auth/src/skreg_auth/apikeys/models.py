"""The API keys table."""

from __future__ import annotations

import datetime as dt

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from skreg_auth.database import Base

KEY_PREFIX = "sr_"


class ApiKey(Base):
    """A key `sr_<id>_<secret>`; `id` is the primary key (O(1) lookup), SHA-256(secret) kept."""

    __tablename__ = "auth_api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(64))  # space-separated, e.g. "read publish"
    # Space-separated namespace patterns (`acme/*`) the key is limited to; None: unlimited.
    namespaces: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The key that created this one (None: a signed-in session did); revoking a key
    # revokes what it created. No foreign key: keys are revoked, never deleted.
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)

    @property
    def scope_list(self) -> list[str]:
        """The scopes as a list."""
        return self.scopes.split()

    @property
    def namespace_list(self) -> list[str] | None:
        """The namespace patterns as a list (None: not limited)."""
        return None if self.namespaces is None else self.namespaces.split()
