"""Search and browse with stable keyset paging (see `statements`), plus tags and stats."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skreg_common.quickread import QuickReader
from skreg_proto.catalog import CatalogStats, SearchSort, SkillSummary, TagCount
from skreg_proto.pagination import Page, clamp_limit, encode_cursor
from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.search.backend import SearchTerms, backend_for
from skreg_catalog.search.statements import (
    SORTS,
    TOTAL,
    SortKey,
    after,
    decode_keys,
    encode_key,
    statements,
    visible,
)
from skreg_catalog.semantic.hybrid import hybrid_rows
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.skills.convert import SUMMARY_FIELDS, to_summary
from skreg_catalog.skills.models import Namespace, Skill, SkillTag, Version

TOP_SKILLS = 10


@dataclass(frozen=True)
class SearchQuery:
    """A validated search request."""

    q: str = ""
    tag: str | None = None
    namespace: str | None = None
    sort: SearchSort = "relevance"
    cursor: str | None = None
    limit: int | None = None


async def search_skills(
    reader: QuickReader, query: SearchQuery, semantic: SemanticSearch | None = None
) -> Page[SkillSummary]:
    """One page of results and the total number of matches.

    The hottest uncached read after skill pages: both statements go through the quick
    reader (no session; see `skreg_common.quickread`). With `semantic` (and a text
    query sorted by relevance) the lexical ranking is fused with the semantic one
    (`skreg_catalog.semantic.hybrid`).
    """
    terms = SearchTerms.parse(query.q) if query.q.strip() else None
    if terms is not None and not terms.terms:  # only punctuation: nothing can match
        return Page(items=[], next_cursor=None, total=0)
    sort = query.sort
    if sort == "relevance" and terms is None:
        sort = "downloads"  # nothing to be relevant to: most downloaded first
    keys = SORTS[sort]
    dialect = reader.dialect_name
    size = clamp_limit(query.limit)
    params: dict[str, Any] = {}
    if terms is not None:
        params.update(backend_for(dialect).parameters(terms))
        ns, _, name = terms.text.rpartition("/")
        params.update(exact_ns=ns, exact_name=name)
    if query.namespace:
        params["namespace"] = query.namespace
    if query.tag:
        params["tag"] = query.tag.strip().lower()
    if query.cursor is not None:
        values = decode_keys(query.cursor, sort, keys)
        params.update({f"k{i}": value for i, value in enumerate(values)})
    if semantic is not None and terms is not None and sort == "relevance":
        hybrid = await hybrid_rows(
            reader, semantic, query.q, params, tag=bool(query.tag),
            namespace=bool(query.namespace), cursor=query.cursor, size=size,
        )  # fmt: skip
        if hybrid is not None:
            found, following, matches = hybrid
            items = [_summary(r, r["matched"]) for r in found]
            return Page(items=items, next_cursor=following, total=matches)
    shape = (dialect, sort, terms is not None, bool(query.tag), bool(query.namespace),
             query.cursor is not None, size)  # fmt: skip
    page_query, count_query = statements(shape)
    rows = await reader.all(page_query, params)
    if rows and terms is not None:
        total = int(rows[0][TOTAL])
    elif not rows and query.cursor is None:
        total = 0
    else:  # browsing, or a page past the last match
        count_params = {k: v for k, v in params.items() if not k.startswith(("k", "exact_"))}
        counted = await reader.first(count_query, count_params)
        total = 0 if counted is None else int(next(iter(counted.values())))
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor([sort, *[encode_key(last[key.column]) for key in keys]])
    matched = ["lexical"] if terms is not None else None
    items = [_summary(row, matched) for row in rows]
    return Page(items=items, next_cursor=next_cursor, total=total)


class SearchService:
    """Tags and stats over visible skills (not deleted, with an installable version)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tags(self, cursor: str | None, limit: int | None) -> Page[TagCount]:
        """Tags of visible skills with counts, most used first."""
        count = func.count().label("count")
        grouped = (
            select(SkillTag.tag, count)
            .join(Skill, Skill.id == SkillTag.skill_id)
            .where(visible())
            .group_by(SkillTag.tag)
        ).subquery()
        keys = (SortKey("count", True), SortKey("tag", False, str))
        columns = [grouped.c.count, grouped.c.tag]
        page = select(grouped).order_by(grouped.c.count.desc(), grouped.c.tag.asc())
        params: dict[str, Any] = {}
        if cursor is not None:
            page = page.where(after(columns, keys))
            params = {f"k{i}": v for i, v in enumerate(decode_keys(cursor, "tags", keys))}
        size = clamp_limit(limit)
        rows = (await self.session.execute(page.limit(size + 1), params)).all()
        total = (await self.session.execute(select(func.count()).select_from(grouped))).scalar_one()
        next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            next_cursor = encode_cursor(["tags", rows[-1][1], rows[-1][0]])
        return Page(
            items=[TagCount(tag=r[0], count=r[1]) for r in rows],
            next_cursor=next_cursor,
            total=total,
        )

    async def stats(self) -> CatalogStats:
        """Totals and the most downloaded skills."""
        totals = select(func.count(), func.coalesce(func.sum(Skill.downloads), 0)).where(visible())
        skills, downloads = (await self.session.execute(totals)).one()
        versions = (
            await self.session.execute(
                select(func.count(Version.id))
                .join(Skill, Skill.id == Version.skill_id)
                .where(visible(), Version.deleted_at.is_(None))
            )
        ).scalar_one()
        namespaces = (await self.session.execute(select(func.count(Namespace.id)))).scalar_one()
        top = (
            await self.session.execute(
                select(Skill)
                .where(visible())
                .order_by(Skill.downloads.desc(), Skill.id.desc())
                .limit(TOP_SKILLS)
            )
        ).scalars()
        return CatalogStats(
            skills=skills,
            versions=versions,
            namespaces=namespaces,
            downloads=int(downloads),
            top=[to_summary(s) for s in top],
        )


def _summary(row: Mapping[str, Any], matched: list[str] | None = None) -> SkillSummary:
    return SkillSummary(**{name: row[name] for name in SUMMARY_FIELDS}, matched=matched)
