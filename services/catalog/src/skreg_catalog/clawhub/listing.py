"""`GET api/v1/search` and `GET api/v1/skills` (explore, `search --prefix`) over the catalog.

Search is the catalog's own full-text search (the same ranking as `/api/v1/skills?q=`);
ClawHub's `score` is the rank turned into a number that falls from 1 down the page.
Explore pages with the catalog's keyset cursors; a prefix listing walks names in order.
"""

from __future__ import annotations

from typing import Any

from skreg_common.errors import BadRequest
from skreg_common.quickread import QuickReader
from skreg_proto.catalog import SearchSort
from skreg_proto.pagination import InvalidCursor, cursor_text, decode_cursor, encode_cursor
from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.clawhub.convert import to_skill_info
from skreg_catalog.clawhub.shapes import (
    LatestVersion,
    Owner,
    SearchResponse,
    SearchResult,
    SkillList,
    SkillListItem,
    millis,
)
from skreg_catalog.search.service import SearchQuery, search_skills
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.skills.models import Skill, Version
from skreg_catalog.visibility import Sight, visible_to

MAX_QUERY = 200
MAX_RESULTS = 100
# ClawHub's explore sorts, to ours (the rest have no counterpart here: newest first).
EXPLORE_SORTS: dict[str, SearchSort] = {"downloads": "downloads", "installs": "downloads"}


def _limit(limit: int | None, default: int = 25) -> int:
    return max(1, min(MAX_RESULTS, limit if limit is not None else default))


async def search(
    reader: QuickReader,
    q: str,
    limit: int | None,
    exact: bool,
    sight: Sight,
    semantic: SemanticSearch | None = None,
) -> SearchResponse:
    """Skills matching `q`, best first; `exact`: only those named exactly `q` (or `owner/q`)."""
    text = q.strip()
    if not text or len(text) > MAX_QUERY:
        raise BadRequest(f"the query must be 1 to {MAX_QUERY} characters")
    page = await search_skills(reader, SearchQuery(q=text, limit=_limit(limit)), sight, semantic)
    items = page.items
    if exact:
        wanted = text.lower().lstrip("@")
        items = [s for s in items if wanted in (s.name, f"{s.namespace}/{s.name}")]
    count = max(len(items), 1)
    return SearchResponse(
        results=[
            SearchResult(
                slug=s.name,
                owner_handle=s.namespace,
                display_name=s.name,
                summary=s.description or None,
                version=s.latest_version,
                score=round(1 - index / count, 4),
                downloads=s.downloads,
                updated_at=millis(s.updated_at),
                owner=Owner(handle=s.namespace),
            )
            for index, s in enumerate(items)
        ]
    )


def _prefix_position(cursor: str) -> tuple[str, str]:
    try:
        position: list[Any] = decode_cursor(cursor)
        if len(position) != 2:
            raise InvalidCursor("malformed cursor")
        return cursor_text(position[0]), cursor_text(position[1])
    except InvalidCursor as exc:
        raise BadRequest("invalid cursor") from exc


async def explore(
    session: AsyncSession,
    reader: QuickReader,
    sight: Sight,
    *,
    prefix: str | None,
    sort: str | None,
    cursor: str | None,
    limit: int | None,
) -> SkillList:
    """Skills with an installable version: by name from `prefix`, else newest first."""
    size = _limit(limit)
    if prefix is not None:
        skills, next_cursor = await _by_prefix(session, sight, prefix.strip().lower(), cursor, size)
    else:
        wanted: SearchSort = EXPLORE_SORTS.get((sort or "").lower(), "updated")
        query = SearchQuery(sort=wanted, cursor=cursor, limit=size)
        page = await search_skills(reader, query, sight)
        next_cursor = page.next_cursor
        skills = await _skills_of(session, [(item.namespace, item.name) for item in page.items])
    return SkillList(items=await _items(session, skills), next_cursor=next_cursor)


async def _skills_of(session: AsyncSession, names: list[tuple[str, str]]) -> list[Skill]:
    """The visible skills named `(namespace, name)`, in that order."""
    if not names:
        return []
    query = select(Skill).where(
        tuple_(Skill.namespace, Skill.name).in_(names), Skill.deleted_at.is_(None)
    )
    found = {(s.namespace, s.name): s for s in (await session.execute(query)).scalars()}
    return [found[key] for key in names if key in found]


async def _by_prefix(
    session: AsyncSession, sight: Sight, prefix: str, cursor: str | None, size: int
) -> tuple[list[Skill], str | None]:
    if len(prefix) > 64:
        raise BadRequest("the prefix must be at most 64 characters")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(Skill).where(
        Skill.deleted_at.is_(None),
        Skill.latest_version_id.is_not(None),
        Skill.name.like(f"{escaped}%", escape="\\"),
        visible_to(sight.shape),
    )
    if cursor is not None:
        name, namespace = _prefix_position(cursor)
        query = query.where(
            or_(Skill.name > name, and_(Skill.name == name, Skill.namespace > namespace))
        )
    rows = list(
        (
            await session.execute(
                query.order_by(Skill.name, Skill.namespace).limit(size + 1), sight.params()
            )
        )
        .scalars()
        .all()
    )
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = encode_cursor([rows[-1].name, rows[-1].namespace])
    return rows, next_cursor


async def _items(session: AsyncSession, skills: list[Skill]) -> list[SkillListItem]:
    ids = [s.latest_version_id for s in skills if s.latest_version_id is not None]
    latest = {}
    if ids:
        rows = await session.execute(
            select(Version.id, Version.version, Version.published_at).where(Version.id.in_(ids))
        )
        latest = {row.id: row for row in rows}
    items = []
    for skill in skills:
        info = to_skill_info(skill)
        row = latest.get(skill.latest_version_id) if skill.latest_version_id else None
        item = SkillListItem(**{f: getattr(info, f) for f in info.__struct_fields__})
        if row is not None:
            item.latest_version = LatestVersion(
                version=row.version, created_at=millis(row.published_at)
            )
        items.append(item)
    return items
