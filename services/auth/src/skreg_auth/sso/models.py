"""SSO tables: pending sign-ins (state), linked identities, and memberships from groups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from skreg_auth.database import Base


class SsoRequest(Base):
    """A sign-in under way at the provider; deleted when it completes (single use).

    `handle` is SHA-256 of the state (browser and loopback flows) or of the device
    handle (device flow): a leaked database row cannot finish anyone's sign-in.
    """

    __tablename__ = "auth_sso_requests"

    handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "redirect" or "device"
    nonce: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_verifier: Mapped[str | None] = mapped_column(String(128), nullable=True)
    redirect_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    device_code: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class SsoIdentity(Base):
    """An account at an OpenID provider, linked to one of our users by (issuer, subject)."""

    __tablename__ = "auth_sso_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="issuer_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(512))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SsoMembership(Base):
    """A membership the group mapping grants: (user, organization) → role.

    Recomputed at every SSO sign-in from the groups claim. The organizations stream
    applies them to real memberships through `MembershipSink`; this table is the
    record of what SSO decided.
    """

    __tablename__ = "auth_sso_memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization", name="user_organization"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("auth_users.id", ondelete="CASCADE"), index=True
    )
    organization: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
