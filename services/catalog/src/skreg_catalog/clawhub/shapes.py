"""The JSON shapes of the ClawHub API, as the `clawhub` CLI (0.23) validates them.

The CLI checks every response with arktype schemas (dist/schema/schemas.js): a
field it marks optional (`?`) may be absent but never `null` unless it also says
`|null`, so optional objects here default to `UNSET` (left out), not `None`.
Timestamps are milliseconds since the epoch, as JavaScript's `Date.now()`.
Requests are decoded leniently: fields the CLI sends that mean nothing here
(`changelog`, `tags`, `source`, `forkOf`, …) are accepted and ignored.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType


class Shape(msgspec.Struct, rename="camel", kw_only=True):
    """camelCase on the wire, like the ClawHub API."""


class WellKnown(Shape, kw_only=True):
    """`/.well-known/clawhub.json`: where the API is (absolute: the CLI joins paths onto it)."""

    api_base: str


class User(Shape, kw_only=True):
    """The caller, for `clawhub login` and `whoami` (the handle is our username)."""

    handle: str | None
    display_name: str | None = None
    image: str | None = None
    role: Literal["admin", "moderator", "user"] | None = None


class Whoami(Shape, kw_only=True):
    """`GET api/v1/whoami`."""

    user: User


class Owner(Shape, kw_only=True):
    """A skill's owner: our namespace is the ClawHub owner handle."""

    handle: str | None
    display_name: str | None = None
    image: str | None = None


class SearchResult(Shape, kw_only=True):
    """One hit of `GET api/v1/search`."""

    slug: str
    owner_handle: str
    display_name: str
    summary: str | None
    version: str | None
    score: float
    downloads: int
    updated_at: int
    owner: Owner


class SearchResponse(Shape, kw_only=True):
    """`GET api/v1/search`."""

    results: list[SearchResult]


class LatestVersion(Shape, kw_only=True):
    """A skill's latest installable version."""

    version: str
    created_at: int
    changelog: str = ""
    license: None = None  # ClawHub knows only its platform licence ("MIT-0"); ours vary


class SkillInfo(Shape, kw_only=True):
    """A skill as ClawHub shows it; `tags` are ClawHub's dist-tags, our tags are `topics`."""

    slug: str
    display_name: str
    summary: str | None
    description: str | None
    topics: list[str]
    tags: dict[str, str]
    stats: dict[str, int]
    created_at: int
    updated_at: int


class SkillListItem(SkillInfo, kw_only=True):
    """One skill of `GET api/v1/skills` (explore, `search --prefix`)."""

    latest_version: LatestVersion | UnsetType = UNSET


class SkillList(Shape, kw_only=True):
    """`GET api/v1/skills`."""

    items: list[SkillListItem]
    next_cursor: str | None


class SkillResponse(Shape, kw_only=True):
    """`GET api/v1/skills/{slug}`."""

    skill: SkillInfo
    latest_version: LatestVersion | None
    owner: Owner
    moderation: None = None


class Moderation(Shape, kw_only=True):
    """`GET api/v1/skills/{slug}/moderation`: this registry has no moderation verdicts."""

    moderation: None = None


class VersionItem(Shape, kw_only=True):
    """One version in `GET api/v1/skills/{slug}/versions`."""

    version: str
    created_at: int
    changelog: str
    changelog_source: None = None


class VersionList(Shape, kw_only=True):
    """`GET api/v1/skills/{slug}/versions`."""

    items: list[VersionItem]
    next_cursor: str | None


class VersionFile(Shape, kw_only=True):
    """One file of a version (what `inspect --files` lists)."""

    path: str
    size: int
    sha256: str
    content_type: str


class VersionDetail(VersionItem, kw_only=True):
    """One version with its files."""

    license: None = None
    files: list[VersionFile] = msgspec.field(default_factory=list)


class SkillRef(Shape, kw_only=True):
    """The skill a version belongs to."""

    slug: str
    display_name: str


class VersionResponse(Shape, kw_only=True):
    """`GET api/v1/skills/{slug}/versions/{version}`."""

    version: VersionDetail
    skill: SkillRef


class Archive(Shape, kw_only=True):
    """Where the archive of the version to install is."""

    version: str
    download_url: str


class InstallArchive(Shape, kw_only=True):
    """`GET api/v1/skills/{slug}/install`: install this version's archive."""

    ok: Literal[True] = True
    slug: str
    install_kind: Literal["archive"] = "archive"
    archive: Archive


class InstallRefused(Shape, kw_only=True):
    """`GET api/v1/skills/{slug}/install` when nothing is installable (sent with 410)."""

    ok: Literal[False] = False
    slug: str
    reason: Literal["archive_version_missing"] = "archive_version_missing"
    message: str
    status: int = 410


class ResolvedVersion(Shape, kw_only=True):
    """A version number."""

    version: str


class ResolveResponse(Shape, kw_only=True):
    """`GET api/v1/resolve`: the version whose files match the fingerprint, and the latest."""

    match: ResolvedVersion | None
    latest_version: ResolvedVersion | None


class UploadUrlRequest(Shape, kw_only=True):
    """`POST api/v1/skills/-/upload-url`: one file the CLI is about to upload."""

    path: str
    size: int
    sha256: str
    content_type: str | None = None


class UploadUrl(Shape, kw_only=True):
    """Where to upload that file; the ticket is its sha256 (uploads are content-addressed)."""

    upload_url: str
    upload_ticket: str


class Uploaded(Shape, kw_only=True):
    """The answer to an upload: the id the publish request names the file by."""

    storage_id: str


class PublishFile(Shape, kw_only=True):
    """One uploaded file named in a publish request."""

    path: str
    size: int
    storage_id: str
    sha256: str
    content_type: str | None = None
    upload_ticket: str | None = None


class PublishRequest(Shape, kw_only=True):
    """`POST api/v1/skills`: publish the uploaded files as `slug@version`."""

    slug: str
    version: str
    files: list[PublishFile]
    display_name: str | None = None
    owner_handle: str | None = None
    changelog: str | None = None
    tags: list[str] | None = None


class Published(Shape, kw_only=True):
    """The answer to a publish (the version is public at once: no scan queue here)."""

    ok: Literal[True] = True
    skill_id: str
    version_id: str
    status: Literal["published"] = "published"
    slug: str
    version: str
    publication_status: Literal["published"] = "published"


class AmbiguousMatch(Shape, kw_only=True):
    """One skill a bare slug could mean."""

    owner_handle: str
    slug: str
    ref: str
    url: str


class Ambiguous(Shape, kw_only=True):
    """409 for a bare slug several namespaces use; the CLI prints each match's `ref`."""

    code: Literal["AMBIGUOUS_SKILL_SLUG"] = "AMBIGUOUS_SKILL_SLUG"
    message: str
    matches: list[AmbiguousMatch]


def millis(value: Any) -> int:
    """A datetime as milliseconds since the epoch."""
    return int(value.timestamp() * 1000)
