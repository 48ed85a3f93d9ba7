"""Trust policies and the CI tokens already exchanged (replay guard)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from skreg_auth.database import Base


class TrustPolicy(Base):
    """CI tokens from `issuer` for `audience` whose claims match `claims` may publish to
    `namespace`, acting for the namespace's owner (`user_id`)."""

    __tablename__ = "auth_trust_policies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("auth_users.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(512))
    audience: Mapped[str] = mapped_column(String(255))
    claims: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsedCiToken(Base):
    """SHA-256 of a CI ID token already exchanged; kept until the token expires."""

    __tablename__ = "auth_used_ci_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
