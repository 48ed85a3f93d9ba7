"""The importer service's public shapes (API.md, importer section) and its job payload.

Field names listed in API.md are binding; fields are only ever added (with defaults).
Secrets (credentials, webhook secrets) go in, never come out: a source only says
whether it has them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from skreg_proto.problems import FieldProblem

# `partial`: the run finished, but some skills were invalid, conflicting or duplicate.
RunState = Literal["queued", "running", "succeeded", "partial", "failed"]
RunTrigger = Literal["manual", "webhook", "schedule", "import"]
Outcome = Literal[
    "created", "updated", "unchanged", "invalid", "conflict", "duplicate", "held", "rejected"
]
# How an import numbers versions (SKILL_FORMAT.md, Versions):
# - `declared`: a semver tag on the commit, else `metadata.version`, else generated; content
#   that changed under an unchanged declared version is a `conflict`;
# - `generate_on_conflict`: the same, but such content gets a generated version instead;
# - `generated`: tags and declared versions are ignored; every new content is generated.
VersionPolicy = Literal["declared", "generate_on_conflict", "generated"]
# Who may see the skills an import creates (None: the namespace's default visibility).
SourceVisibility = Literal["public", "internal", "private"]

MIN_INTERVAL = 60
MAX_INTERVAL = 30 * 24 * 3600

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Subdirectory = Annotated[str, msgspec.Meta(max_length=1024)]
Namespace = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Interval = Annotated[int, msgspec.Meta(ge=MIN_INTERVAL, le=MAX_INTERVAL)]
WebhookSecret = Annotated[str, msgspec.Meta(min_length=8, max_length=256)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
# Path filters: globs over skill folder paths relative to the repository root.
PathGlob = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
PathGlobs = Annotated[list[PathGlob], msgspec.Meta(max_length=50)]


class Credentials(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """For private repositories: an HTTPS token (with an optional user name), or the path of
    an SSH key file present on the importer workers (a reference, not the key itself)."""

    token: Token | None = None
    username: ShortText | None = None
    ssh_key_path: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)] | None = None


class SourceCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/v1/sources`: `interval` in seconds (None: the server's SYNC_INTERVAL)."""

    url: Url
    namespace: Namespace
    ref: Ref | None = None
    subdirectory: Subdirectory | None = None
    interval: Interval | None = None
    enabled: bool = True
    webhook_secret: WebhookSecret | None = None
    credentials: Credentials | None = None
    include: PathGlobs = msgspec.field(default_factory=list)
    exclude: PathGlobs = msgspec.field(default_factory=list)
    version_policy: VersionPolicy = "declared"
    visibility: SourceVisibility | None = None


class SourceUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`PATCH /api/v1/sources/{id}`: only the fields present change; `null` clears."""

    url: Url | msgspec.UnsetType = msgspec.UNSET
    namespace: Namespace | msgspec.UnsetType = msgspec.UNSET
    ref: Ref | msgspec.UnsetType | None = msgspec.UNSET
    subdirectory: Subdirectory | msgspec.UnsetType | None = msgspec.UNSET
    interval: Interval | msgspec.UnsetType | None = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    webhook_secret: WebhookSecret | msgspec.UnsetType | None = msgspec.UNSET
    credentials: Credentials | msgspec.UnsetType | None = msgspec.UNSET
    include: PathGlobs | msgspec.UnsetType | None = msgspec.UNSET
    exclude: PathGlobs | msgspec.UnsetType | None = msgspec.UNSET
    version_policy: VersionPolicy | msgspec.UnsetType = msgspec.UNSET
    visibility: SourceVisibility | msgspec.UnsetType | None = msgspec.UNSET


class Source(msgspec.Struct, kw_only=True):
    """A Git source as the API shows it (no secrets, a URL without credentials)."""

    id: str
    url: str
    namespace: str
    ref: str | None
    subdirectory: str | None
    interval: int | None
    enabled: bool
    has_webhook_secret: bool
    has_credentials: bool
    webhook_path: str
    last_commit: str | None
    last_synced_at: dt.datetime | None
    last_run_id: str | None = None
    last_run_state: RunState | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    include: list[str] = msgspec.field(default_factory=list)
    exclude: list[str] = msgspec.field(default_factory=list)
    version_policy: VersionPolicy = "declared"
    last_run_counts: dict[str, int] = msgspec.field(default_factory=dict)
    visibility: SourceVisibility | None = None


class ImportCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/v1/imports`: a one-off import of a URL into a namespace."""

    url: Url
    namespace: Namespace
    ref: Ref | None = None
    subdirectory: Subdirectory | None = None
    credentials: Credentials | None = None
    include: PathGlobs = msgspec.field(default_factory=list)
    exclude: PathGlobs = msgspec.field(default_factory=list)
    version_policy: VersionPolicy = "declared"
    visibility: SourceVisibility | None = None


class ImportResult(msgspec.Struct, kw_only=True):
    """What happened to one discovered skill."""

    path: str
    name: str | None
    outcome: Outcome
    version: str | None = None
    digest: str | None = None
    problems: list[FieldProblem] = msgspec.field(default_factory=list)
    warnings: list[FieldProblem] = msgspec.field(default_factory=list)


class ImportRun(msgspec.Struct, kw_only=True):
    """One sync or import. In lists `results` is empty and `counts` summarises them.

    `counts` maps each outcome present (`created`, `invalid`, `duplicate`, …) to how many
    skills had it; `state` is `partial` when any was invalid, conflict or duplicate.
    """

    id: str
    source_id: str | None
    state: RunState
    commit: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None
    results: list[ImportResult] = msgspec.field(default_factory=list)
    url: str = ""
    ref: str | None = None
    subdirectory: str | None = None
    namespace: str = ""
    trigger: RunTrigger = "manual"
    attempts: int = 0
    created_at: dt.datetime | None = None
    counts: dict[str, int] = msgspec.field(default_factory=dict)


class WebhookAccepted(msgspec.Struct, kw_only=True):
    """Answer to a verified webhook: the run it enqueued (or why it did nothing)."""

    status: Literal["queued", "ignored"]
    run_id: str | None = None
    reason: str | None = None


class ImportJob(msgspec.Struct):
    """The arq job payload (msgpack): which run to work on. Everything else is in the row."""

    run_id: str
