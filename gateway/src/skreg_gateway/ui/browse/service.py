"""What the browse pages need from the catalog API, fetched concurrently and shaped for display."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

import msgspec
from skreg_catalog.rendering import RenderPool
from skreg_proto.catalog import (
    CatalogStats,
    NamespaceRights,
    SearchPage,
    SearchSort,
    SkillDetail,
    SkillSummary,
    SkillVersion,
    TagCount,
    VersionDetail,
    Visibility,
)
from skreg_proto.digest import FileEntry
from skreg_proto.pagination import Page

from skreg_gateway.ui.browse.documents import FilePreview, new_preview, preview_text
from skreg_gateway.ui.client import Api, ApiError, decode, file_path, items_of, seg
from skreg_gateway.ui.rendering import search_terms

T = TypeVar("T")

SORTS: tuple[SearchSort, ...] = ("relevance", "downloads", "updated", "name")
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
PREVIEW_LIMIT = 256 * 1024
MAX_QUERY = 200
MAX_FILTER = 64


async def get_page(
    api: Api, path: str, item_type: type[T], params: dict[str, Any] | None = None
) -> Page[T]:
    """A list endpoint as a Page, whether it answers with a page or a bare list."""
    response = await api.send("GET", path, params=params)
    raw = decode(response.content, object, path)
    items = decode_items(raw, item_type, path)
    if isinstance(raw, dict):
        return Page(items=items, next_cursor=raw.get("next_cursor"), total=raw.get("total"))
    return Page(items=items)


def decode_items(raw: Any, item_type: type[T], path: str) -> list[T]:
    """The items of a list answer as `item_type`."""
    return decode(msgspec.json.encode(items_of(raw)), list[item_type], path)  # type: ignore[valid-type]


def skill_path(namespace: str, name: str) -> str:
    """The API path of a skill (segments encoded)."""
    return f"/api/v1/skills/{seg(namespace)}/{seg(name)}"


@dataclass
class Home:
    """The home page's panels."""

    stats: CatalogStats | None
    tags: list[TagCount]
    recent: list[SkillSummary]


async def load_home(api: Api) -> Home:
    """Totals and most downloaded, tags, recently updated: three calls at once."""
    stats, tags, recent = await asyncio.gather(
        api.get("/api/v1/stats", CatalogStats),
        get_page(api, "/api/v1/tags", TagCount, {"limit": 40}),
        get_page(api, "/api/v1/skills", SkillSummary, {"sort": "updated", "limit": 8}),
    )
    return Home(stats=stats, tags=sorted(tags.items, key=lambda t: t.tag), recent=recent.items)


@dataclass
class SearchForm:
    """The search page's inputs, cleaned (unknown sorts fall back, long text is cut)."""

    q: str = ""
    tag: str = ""
    namespace: str = ""
    sort: SearchSort = "relevance"
    cursor: str | None = None

    @classmethod
    def from_query(
        cls,
        q: str | None,
        tag: str | None,
        namespace: str | None,
        sort: str | None,
        cursor: str | None,
    ) -> SearchForm:
        """Clean what the browser sent."""
        chosen: SearchSort = "relevance"
        for option in SORTS:
            if sort == option:
                chosen = option
        return cls(
            q=(q or "").strip()[:MAX_QUERY],
            tag=(tag or "").strip()[:MAX_FILTER],
            namespace=(namespace or "").strip()[:MAX_FILTER],
            sort=chosen,
            cursor=(cursor or None),
        )

    def params(self) -> dict[str, Any]:
        """The API's query parameters."""
        return {
            "q": self.q,
            "tag": self.tag,
            "namespace": self.namespace,
            "sort": self.sort,
            "cursor": self.cursor,
            "limit": 20,
        }

    def link(self, cursor: str | None = None, **changes: str) -> dict[str, str]:
        """Query parameters for a link to this search with `changes` (and a cursor)."""
        values = {"q": self.q, "tag": self.tag, "namespace": self.namespace, "sort": self.sort}
        values.update(changes)
        if cursor:
            values["cursor"] = cursor
        return {k: v for k, v in values.items() if v and not (k == "sort" and v == "relevance")}


@dataclass
class SearchHit:
    """One result and why it matched."""

    skill: SkillSummary
    reasons: list[str]


def match_reasons(skill: SkillSummary, terms: list[str]) -> list[str]:
    """Where the query's words appear: name, description, tags, or else the SKILL.md body."""
    if not terms:
        return []
    reasons: list[str] = []
    full_name = f"{skill.namespace}/{skill.name}".lower()
    if any(t in full_name for t in terms):
        reasons.append("name")
    if any(t in (skill.description or "").lower() for t in terms):
        reasons.append("description")
    matched_tags = [tag for tag in skill.tags if any(t in tag.lower() for t in terms)]
    if matched_tags:
        reasons.append("tags: " + ", ".join(matched_tags))
    return reasons or ["the skill's instructions (SKILL.md)"]


# What the API's `matched` fields are called on a result card.
FIELD_REASONS = {
    "name": "name",
    "tags": "tags",
    "description": "description",
    "body": "the skill's instructions (SKILL.md)",
}


async def search(api: Api, form: SearchForm) -> tuple[SearchPage, list[SearchHit]]:
    """One page of results, each with why it matched (the API's fields, tags named)."""
    response = await api.send("GET", "/api/v1/skills", params=form.params())
    page = decode(response.content, SearchPage, "/api/v1/skills")
    terms = search_terms(form.q)
    hits = []
    for skill in page.items:
        reasons = match_reasons(skill, terms)
        if skill.matched:
            named = [FIELD_REASONS[f] for f in skill.matched if f in FIELD_REASONS]
            tags = [r for r in reasons if r.startswith("tags: ")]
            reasons = [tags[0] if r == "tags" and tags else r for r in named]
        hits.append(SearchHit(skill, reasons))
    return page, hits


@dataclass
class TreeEntry:
    """One line of the file browser: a directory heading or a file, with its depth."""

    name: str
    depth: int
    file: FileEntry | None = None


def file_tree(files: list[FileEntry]) -> list[TreeEntry]:
    """The bundle's files as an indented tree, directories before the files they hold."""
    entries: list[TreeEntry] = []
    seen_dirs: set[str] = set()
    for entry in sorted(files, key=lambda f: f.path.split("/")):
        parts = entry.path.split("/")
        for depth in range(len(parts) - 1):
            directory = "/".join(parts[: depth + 1])
            if directory not in seen_dirs:
                seen_dirs.add(directory)
                entries.append(TreeEntry(name=parts[depth] + "/", depth=depth))
        entries.append(TreeEntry(name=parts[-1], depth=len(parts) - 1, file=entry))
    return entries


@dataclass
class SkillView:
    """Everything the skill page shows."""

    detail: SkillDetail
    version: VersionDetail | None
    versions: list[SkillVersion]
    # What the visitor may do here, as the catalog's own rule answers it (nothing when
    # signed out): `manage` shows yank, delete and the visibility editor.
    rights: NamespaceRights

    @property
    def can_manage(self) -> bool:
        """Whether to show the controls (the API checks again on every change)."""
        return self.rights.manage


async def namespace_rights(api: Api, namespace: str, signed_in: bool) -> NamespaceRights:
    """What the caller may do in `namespace`: `GET /api/v1/namespaces/{ns}/rights`, which
    applies the very functions the writes do (publishers of an organization manage its
    skills, readers do not); a visitor who is not signed in may do nothing."""
    if not signed_in:
        return NamespaceRights(namespace=namespace, manage=False, configure=False)
    return await api.get(f"/api/v1/namespaces/{seg(namespace)}/rights", NamespaceRights)


async def load_skill(
    api: Api, namespace: str, name: str, version: str | None, signed_in: bool = False
) -> SkillView:
    """The skill, the version to show (latest by default), the versions list and the
    visitor's rights, at once."""
    base = skill_path(namespace, name)
    wanted = version or "latest"
    detail, shown, versions, rights = await asyncio.gather(
        api.get(base, SkillDetail),
        api.get(f"{base}/versions/{seg(wanted)}", VersionDetail),
        get_page(api, f"{base}/versions", SkillVersion, {"limit": 100}),
        namespace_rights(api, namespace, signed_in),
        return_exceptions=True,
    )
    if isinstance(detail, BaseException):
        raise detail
    if isinstance(versions, BaseException):
        raise versions
    if isinstance(rights, BaseException):
        raise rights
    if isinstance(shown, BaseException):
        if not (isinstance(shown, ApiError) and shown.status == 404 and version is None):
            raise shown
        # No latest (every version yanked): the page still lists the versions.
        return SkillView(detail=detail, version=None, versions=versions.items, rights=rights)
    return SkillView(detail=detail, version=shown, versions=versions.items, rights=rights)


async def load_file(
    api: Api, renderer: RenderPool, namespace: str, name: str, version: str, path: str
) -> tuple[VersionDetail, FilePreview | None]:
    """The version (for the file list) and one file's preview (None: not in the bundle)."""
    base = skill_path(namespace, name)
    shown = await api.get(f"{base}/versions/{seg(version)}", VersionDetail)
    entry = next((f for f in shown.files if f.path == path), None)
    if entry is None:
        return shown, None
    preview = new_preview(shown, entry)
    if preview.kind == "image":
        return shown, preview  # shown by the browser from the raw file
    if entry.size > PREVIEW_LIMIT:
        preview.reason = "This file is too large to preview."
        return shown, preview
    response = await api.send(
        "GET", f"{base}/versions/{seg(shown.version)}/files/{file_path(path)}"
    )
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        preview.kind = "binary"
        preview.reason = "This is a binary file."
        return shown, preview
    return shown, await preview_text(renderer, shown, preview, text)
