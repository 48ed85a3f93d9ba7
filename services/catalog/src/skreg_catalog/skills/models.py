"""Namespaces, skills, their tags and their immutable versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from skreg_common.db import UTCDateTime, utcnow
from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base

NAME_LENGTH = 64
VERSION_LENGTH = 128
DIGEST_LENGTH = 80


class Namespace(Base):
    """The first half of `namespace/name`; owned by one user (or by nobody: admins only)."""

    __tablename__ = "catalog_namespaces"
    # The storage quota sums the versions of every namespace one user owns.
    __table_args__ = (
        Index("ix_catalog_namespaces_owner_id", "owner_id"),
        Index("ix_catalog_namespaces_org", "org"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    # The auth service's user id; None for namespaces an import created without an owner.
    owner_id: Mapped[str | None] = mapped_column(String(64))
    owner_name: Mapped[str | None] = mapped_column(String(64))
    # The organization (auth's name for it) owning the namespace; None: a user's namespace.
    org: Mapped[str | None] = mapped_column(String(64))
    # What a skill published here without saying is: public, internal or private.
    default_visibility: Mapped[str] = mapped_column(
        String(16), default="public", server_default="public"
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Skill(Base):
    """One skill; the columns shown in lists are copied from its latest version."""

    __tablename__ = "catalog_skills"
    __table_args__ = (
        UniqueConstraint("namespace_id", "name"),
        # Keyset browsing: each sort order walks one index.
        Index("ix_catalog_skills_downloads_id", "downloads", "id"),
        Index("ix_catalog_skills_updated_at_id", "updated_at", "id"),
        Index("ix_catalog_skills_name_id", "name", "id"),
        Index("ix_catalog_skills_namespace_name", "namespace", "name"),
        Index("ix_catalog_skills_source_id", "source_id"),
        # Whether any skill is not public (search skips the visibility join if none).
        Index("ix_catalog_skills_visibility", "visibility"),
        # Counting visible skills (browse totals) reads this small index, not the rows.
        Index(
            "ix_catalog_skills_visible",
            "id",
            sqlite_where=text("deleted_at IS NULL AND latest_version_id IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND latest_version_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("catalog_namespaces.id"))
    # Copied from the namespace (never renamed) so filters and sorts need no join.
    namespace: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    latest_version: Mapped[str | None] = mapped_column(String(VERSION_LENGTH))
    # No foreign key: versions point at skills, a cycle would complicate every insert.
    latest_version_id: Mapped[int | None] = mapped_column(Integer)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    deprecated_reason: Mapped[str | None] = mapped_column(String(500))
    # The importer source that last published this skill (None: published by hand).
    source_id: Mapped[str | None] = mapped_column(String(64))
    # public, internal or private: who may see it (`skreg_catalog.visibility`).
    visibility: Mapped[str] = mapped_column(String(16), default="public", server_default="public")


class SkillTag(Base):
    """The tags of a skill's latest version, one row each, for the `tag` filter and counts."""

    __tablename__ = "catalog_skill_tags"
    __table_args__ = (Index("ix_catalog_skill_tags_tag_skill_id", "tag", "skill_id"),)

    skill_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_skills.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)


class Version(Base):
    """One published version: immutable except for its yank state and soft delete."""

    __tablename__ = "catalog_versions"
    __table_args__ = (
        UniqueConstraint("skill_id", "version"),
        # Purging asks, per blob, whether any version still needs it.
        Index("ix_catalog_versions_digest", "digest"),
        # The review queue lists versions by state.
        Index("ix_catalog_versions_review_state", "review_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("catalog_skills.id"))
    version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    digest: Mapped[str] = mapped_column(ForeignKey("catalog_blobs.digest"))
    prerelease: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(Text)
    compatibility: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    manifest: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    frontmatter: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    compressed_size: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    publisher_id: Mapped[str | None] = mapped_column(String(64))
    publisher_name: Mapped[str | None] = mapped_column(String(64))
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    yank_reason: Mapped[str | None] = mapped_column(String(500))
    yanked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set when `python -m skreg_catalog.purge` dropped a long-deleted version's content:
    # the row stays (with its digest) so the version number never returns changed.
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    # The key that signed this version's attestation (`skreg_catalog.signing`); None
    # only for versions from before signing, until the background pass signs them.
    signature_keyid: Mapped[str | None] = mapped_column(String(64))
    # Trust (issue #15, `skreg_catalog.review`). `withheld`: seen only by the namespace's
    # managers and admins (held for review, rejected, or its scan failed); every public
    # read filters on it, so a withheld version is absent, never latest.
    withheld: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The scanner's report {verdict, rules_version, findings, scanned_at}; None: never
    # scanned (SCAN_POLICY=off, or published before scanning existed).
    scan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # none | held | scan-failed | flagged | approved | rejected (`review.states`).
    review_state: Mapped[str | None] = mapped_column(String(16))
    # The last review decision: {decided_by, reason, at}.
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# The condition every public read of versions adds: a withheld version is absent
# there (`skreg_catalog.review.visibility` holds the rule for who may see it).
PUBLIC_VERSION = Version.withheld.is_(False)
