"""The registry's signing keys (public parts) and each version's signed attestation."""

from __future__ import annotations

import datetime as dt

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base

KEYID_LENGTH = 64


class SigningKey(Base):
    """A public key the registry has signed with: published for as long as it exists.

    Rows are only added, never removed: rotating to a new private key leaves the old
    public key here (retired), so every signature it made stays verifiable. The key
    with the latest `activated_at` is the active one.
    """

    __tablename__ = "catalog_signing_keys"

    keyid: Mapped[str] = mapped_column(String(KEYID_LENGTH), primary_key=True)
    keytype: Mapped[str] = mapped_column(String(32))
    scheme: Mapped[str] = mapped_column(String(32))
    public: Mapped[str] = mapped_column(String(256))  # hex, securesystemslib's keyval
    first_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attestation(Base):
    """A version's DSSE envelope (JSON), signed once: versions are immutable.

    A separate table, not a column on versions: the many reads that load version rows
    never carry the envelope (the key id they show is `Version.signature_keyid`).
    """

    __tablename__ = "catalog_attestations"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True
    )
    keyid: Mapped[str] = mapped_column(ForeignKey("catalog_signing_keys.keyid"))
    envelope: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
