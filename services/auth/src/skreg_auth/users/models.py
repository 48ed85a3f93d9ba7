"""The users table."""

from __future__ import annotations

import datetime as dt

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from skreg_auth.database import Base

ROLES = ("admin", "user")


class User(Base):
    """A person who signs in. `username` is stored lower-case; emails are unique ignoring case."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'user')", name="role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(39), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Access tokens carry the version they were issued at; bumping it voids older ones.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    tokens_revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# Case-insensitive uniqueness (and lookup) of emails, the same on SQLite and PostgreSQL.
Index("ix_users_email_lower", func.lower(User.email), unique=True)
