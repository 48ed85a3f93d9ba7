"""The catalog service's public shapes (API.md, catalog section).

Field names listed in API.md are binding; fields are only ever added (with defaults).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

from skreg_proto.digest import FileEntry
from skreg_proto.internal import Provenance
from skreg_proto.problems import FieldProblem
from skreg_proto.trust import VersionScan

# Who may see a skill: everyone, signed-in users, or its namespace's owners.
Visibility = Literal["public", "internal", "private"]

SearchSort = Literal["relevance", "downloads", "updated", "name"]


class SkillSummary(msgspec.Struct, kw_only=True):
    """A skill in lists and search results."""

    namespace: str
    name: str
    description: str
    latest_version: str | None
    tags: list[str]
    downloads: int
    updated_at: dt.datetime
    deprecated: bool = False


class SearchHit(SkillSummary, kw_only=True):
    """A search result: the skill, and why it matched: the fields of its search document
    holding the query's words (`name`, `tags`, `description`, `body`), then `semantic`
    when its meaning is close to the query's (hybrid search); empty when browsing."""

    matched: list[str] = msgspec.field(default_factory=list)


class SearchPage(msgspec.Struct, kw_only=True):
    """One page of search results (`GET /api/v1/skills`).

    `total` counts every match; with `total_approximate` true it is an estimate (a
    query whose words are each in more than a thousand skills: counting them all would
    cost what ranking saves). `suggestions` are spellings the catalogue knows, for a
    query that found little ("did you mean").
    """

    items: list[SearchHit]
    next_cursor: str | None = None
    total: int | None = None
    total_approximate: bool = False
    suggestions: list[str] = msgspec.field(default_factory=list)


class SkillVersion(msgspec.Struct, kw_only=True):
    """One published version: its manifest, digest, frontmatter and where it came from."""

    namespace: str
    name: str
    version: str
    digest: str
    yanked: bool
    yank_reason: str | None
    files: list[FileEntry]
    frontmatter: dict[str, Any]
    provenance: Provenance | None
    published_at: dt.datetime
    description: str = ""
    license: str | None = None
    compatibility: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    prerelease: bool = False
    size: int = 0
    compressed_size: int = 0
    downloads: int = 0
    publisher: str | None = None
    yanked_at: dt.datetime | None = None
    # Lenient-mode findings recorded when an import published this version.
    warnings: list[FieldProblem] = msgspec.field(default_factory=list)
    # The registry key that signed this version's attestation (`…/attestation`; keys at
    # /.well-known/skills-registry/keys.json). None only briefly, for versions from
    # before signing that the registry has not signed yet.
    signature_keyid: str | None = None
    # The scan and its review (None: not scanned); `withheld`: seen only by the
    # namespace's managers and admins (held for review, rejected, scan failed).
    scan: VersionScan | None = None
    withheld: bool = False


class VersionDetail(SkillVersion, kw_only=True):
    """One version with its SKILL.md body, raw and rendered to sanitised HTML."""

    body: str = ""
    body_html: str = ""
    is_latest: bool = False
    # True when body_html renders only the start of the body, or shows it as plain text
    # (the body was too large or too costly to render); `body` is always complete.
    body_html_partial: bool = False


class SkillDetail(SkillSummary, kw_only=True):
    """A skill: its latest version, tags, owners, downloads and provenance."""

    created_at: dt.datetime
    owners: list[str] = msgspec.field(default_factory=list)
    license: str | None = None
    compatibility: str | None = None
    provenance: Provenance | None = None
    deprecated_reason: str | None = None
    versions_count: int = 0
    latest: SkillVersion | None = None
    # Who may see it: public, internal (signed-in users) or private (its owners).
    visibility: Visibility = "public"
    # The organization owning the namespace (None: a user's namespace).
    org: str | None = None


class PublishResponse(SkillVersion, kw_only=True):
    """The result of `POST /api/v1/skills`: the version, and whether it was written now.

    `created` is false for an idempotent retry (same version, same digest) and for a
    dry run, where `dry_run` is true and nothing was written.
    """

    created: bool = False
    dry_run: bool = False


class SkillUpdate(msgspec.Struct):
    """`PATCH /api/v1/skills/{namespace}/{name}`: change who may see the skill."""

    visibility: Visibility


class NamespaceOut(msgspec.Struct):
    """A namespace's settings (shown to those who manage it)."""

    name: str
    owner: str | None
    org: str | None
    default_visibility: Visibility


class NamespaceRights(msgspec.Struct):
    """`GET /api/v1/namespaces/{namespace}/rights`: what the caller may do there.

    `manage`: publish, yank, delete and change a skill's visibility; `configure`: change
    the namespace's settings. Both false for a namespace that does not exist.
    """

    namespace: str
    manage: bool
    configure: bool


class NamespaceUpdate(msgspec.Struct):
    """`PATCH /api/v1/namespaces/{namespace}`: the default visibility of new skills, and
    (registry admins only) the organization that owns the namespace."""

    default_visibility: Visibility | None = None
    org: str | None = None


class YankRequest(msgspec.Struct):
    """`POST …/versions/{version}/yank`: why this version should no longer be resolved."""

    reason: str


class TagCount(msgspec.Struct):
    """A tag and how many visible skills carry it."""

    tag: str
    count: int


class CatalogStats(msgspec.Struct, kw_only=True):
    """`GET /api/v1/stats`: totals and the most downloaded skills."""

    skills: int
    versions: int
    namespaces: int
    downloads: int
    top: list[SkillSummary]
