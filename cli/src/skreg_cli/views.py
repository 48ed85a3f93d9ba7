"""What the CLI reads from the public API (API.md), as tolerant views.

Only the fields the contract names are read; every other field is ignored and
every field not in the contract's core has a default, so a newer registry that
adds fields never breaks an older CLI (the tolerant-reader side of msgspec's
evolution rules).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

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


def to_builtins(value: Any) -> Any:
    """A view (or anything msgspec knows) as plain JSON-ready data."""
    return msgspec.to_builtins(value)
