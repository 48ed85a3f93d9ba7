"""What the CLI reads from the public API (API.md), as tolerant views.

Only the fields the contract names are read; every other field is ignored and
every field not in the contract's core has a default, so a newer registry that
adds fields never breaks an older CLI (the tolerant-reader side of msgspec's
evolution rules).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from skreg_cli.trust import ScanView

T = TypeVar("T")


class FileView(msgspec.Struct, kw_only=True):
    """One manifest entry of a version."""

    path: str
    size: int = 0
    mode: int = 0o644
    sha256: str = ""


class VersionView(msgspec.Struct, kw_only=True):
    """A version, in a versions list or in full."""

    version: str
    namespace: str = ""
    name: str = ""
    digest: str = ""
    yanked: bool = False
    yank_reason: str | None = None
    files: list[FileView] = msgspec.field(default_factory=list)
    frontmatter: dict[str, Any] = msgspec.field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    published_at: str | None = None
    scan: ScanView | None = None
    withheld: bool = False


class SkillView(msgspec.Struct, kw_only=True):
    """A skill in search results, or its detail page."""

    namespace: str
    name: str
    description: str = ""
    latest_version: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    downloads: int = 0
    updated_at: str | None = None
    owners: list[Any] = msgspec.field(default_factory=list)
    provenance: dict[str, Any] | None = None
    deprecated: bool = False

    @property
    def full_name(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"


class PageView(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a cursor-paginated list."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None


class SearchHitView(SkillView, kw_only=True):
    """A search result: the skill and the fields the query matched in."""

    matched: list[str] = msgspec.field(default_factory=list)


class SearchPageView(PageView[SearchHitView], kw_only=True):
    """A page of search results: an estimated total says so; spellings for a typo."""

    total_approximate: bool = False
    suggestions: list[str] = msgspec.field(default_factory=list)


def to_builtins(value: Any) -> Any:
    """A view (or anything msgspec knows) as plain JSON-ready data."""
    return msgspec.to_builtins(value)


class SourceView(msgspec.Struct, kw_only=True):
    """A Git source (admin API); path filters and the version policy when the registry has them."""

    id: str
    url: str
    namespace: str
    ref: str | None = None
    subdirectory: str | None = None
    enabled: bool = True
    include: list[str] = msgspec.field(default_factory=list)
    exclude: list[str] = msgspec.field(default_factory=list)
    version_policy: str | None = None
    visibility: str | None = None
    last_commit: str | None = None
    last_synced_at: str | None = None
    last_run_id: str | None = None
    last_run_state: str | None = None


class ProblemView(msgspec.Struct, kw_only=True):
    """One problem of an imported skill."""

    path: str = ""
    message: str = ""


class ResultView(msgspec.Struct, kw_only=True):
    """What a run did with one discovered skill."""

    path: str
    name: str | None = None
    outcome: str = ""
    version: str | None = None
    problems: list[ProblemView] = msgspec.field(default_factory=list)


class RunView(msgspec.Struct, kw_only=True):
    """An import run; `state` is text so that states added later still read."""

    id: str
    state: str
    source_id: str | None = None
    commit: str | None = None
    trigger: str = ""
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    results: list[ResultView] = msgspec.field(default_factory=list)
    counts: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True once the run will not change any more."""
        return self.state not in ("queued", "running")
