"""The organizations and memberships tables."""

from __future__ import annotations

import datetime as dt

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from skreg_auth.database import Base


class Org(Base):
    """An organization; its `name` is also the namespace it owns, and is never renamed
    (the catalog records namespace owners by it)."""

    __tablename__ = "auth_orgs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(39), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Membership(Base):
    """One user's role in one organization."""

    __tablename__ = "auth_org_members"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'admin', 'publisher', 'reader')", name="org_role"),
    )

    org_id: Mapped[str] = mapped_column(
        ForeignKey("auth_orgs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
