"""The users table."""

from __future__ import annotations

import datetime as dt
import unicodedata

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from skreg_auth.database import Base

ROLES = ("admin", "user")
# NFKC can lengthen a string; a key this long still fits a btree index entry on PostgreSQL.
MAX_EMAIL_KEY_LENGTH = 320


def email_key(email: str) -> str:
    """The form emails are compared in: NFKC, full Unicode case folding, NFKC again.

    `lower()` in SQL folds only ASCII on SQLite (and depends on the locale on
    PostgreSQL), so `Älice@x` and `älice@x` were two accounts; folding in Python
    gives both databases the same answer. The second NFKC is needed because
    case folding can produce strings that are no longer normalised.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())


def _email_key_default(context: DefaultExecutionContext) -> str:
    return email_key(str(context.get_current_parameters()["email"]))  # type: ignore[no-untyped-call]


class User(Base):
    """A person who signs in. `username` is stored lower-case; `email_key` makes emails unique."""

    __tablename__ = "auth_users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'user')", name="role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(39), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    # email_key(email): unique, and what sign-in by email looks up.
    email_key: Mapped[str] = mapped_column(
        String(MAX_EMAIL_KEY_LENGTH), index=True, unique=True, default=_email_key_default
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Access tokens carry the version they were issued at; bumping it voids older ones.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    tokens_revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
