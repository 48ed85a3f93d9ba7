"""Search and browse with stable keyset paging (see `statements`), plus tags and stats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skreg_common.quickread import QuickReader
from skreg_proto.catalog import CatalogStats, SearchPage, SearchSort, TagCount
from skreg_proto.pagination import Page, clamp_limit, encode_cursor
from sqlalchemy import (
    and_,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.search.lexical import (
    Filters,
    QueryTerms,
    Ranking,
    complete,
    list_param,
    rank_lexical,
)
from skreg_catalog.search.paging import decode_position, encode_position
from skreg_catalog.search.statements import (
    SORTS,
    SortKey,
    after,
    decode_keys,
    encode_key,
    skill_rows,
    statements,
    visible,
)
from skreg_catalog.search.suggest import SUGGEST_BELOW, suggest
from skreg_catalog.semantic.hybrid import hybrid_page
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.skills.convert import search_hit, to_summary
from skreg_catalog.skills.models import PUBLIC_VERSION, Skill, SkillTag, Version
from skreg_catalog.visibility import ALL, Sight, visible_to

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
    reader: QuickReader,
    query: SearchQuery,
    sight: Sight,
    semantic: SemanticSearch | None = None,
) -> SearchPage:
    """One page of results and the total number of matches, of what `sight` may see
    (`skreg_catalog.visibility`: pages, totals and suggestions alike).

    The hottest uncached read after skill pages: every statement goes through the quick
    reader (no session; see `skreg_common.quickread`). Text by relevance ranks over the
    term index with a bounded cost (`search.lexical`), fused with the skills closest in
    meaning when `semantic` is on (`semantic.hybrid`); browsing and the other sorts page
    with keyset statements (`search.statements`).
    """
    terms = QueryTerms.parse(query.q) if query.q.strip() else None
    if terms is not None and not terms.groups:  # only punctuation: nothing can match
        return SearchPage(items=[], next_cursor=None, total=0)
    sort = query.sort
    if sort == "relevance" and terms is None:
        sort = "downloads"  # nothing to be relevant to: most downloaded first
    size = clamp_limit(query.limit)
    tag = query.tag.strip().lower() if query.tag else None
    if terms is not None and sort == "relevance":
        return await _relevance_page(reader, terms, query, size, tag, sight, semantic)
    keys = SORTS[sort]
    dialect = reader.dialect_name
    restricted = None if sight == ALL else sight.shape
    params: dict[str, Any] = {} if restricted is None else sight.params()
    if terms is not None:
        completions = await complete(reader, terms)
        params["terms"] = list_param(dialect, terms.with_completions(completions).terms)
    if query.namespace:
        params["namespace"] = query.namespace
    if tag:
        params["tag"] = tag
    if query.cursor is not None:
        values = decode_keys(query.cursor, sort, keys)
        params.update({f"k{i}": value for i, value in enumerate(values)})
    shape = (dialect, sort, terms is not None, bool(tag), bool(query.namespace),
             query.cursor is not None, size, restricted)  # fmt: skip
    page_query, count_query = statements(shape)
    rows = await reader.all(page_query, params)
    if not rows and query.cursor is None:
        total = 0
    else:
        count_params = {k: v for k, v in params.items() if not k.startswith("k")}
        counted = await reader.first(count_query, count_params)
        total = 0 if counted is None else int(next(iter(counted.values())))
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor([sort, *[encode_key(last[key.column]) for key in keys]])
    return SearchPage(
        items=[search_hit(row, []) for row in rows], next_cursor=next_cursor, total=total
    )


async def _relevance_page(
    reader: QuickReader,
    terms: QueryTerms,
    query: SearchQuery,
    size: int,
    tag: str | None,
    sight: Sight,
    semantic: SemanticSearch | None,
) -> SearchPage:
    filters = Filters(namespace=query.namespace or None, tag=tag)
    hybrid = None
    if semantic is not None:
        hybrid = await hybrid_page(
            reader,
            semantic,
            terms,
            query.q,
            size=size,
            cursor=query.cursor,
            filters=filters,
            sight=sight,
        )
    if hybrid is not None:
        page, lexical = hybrid
    else:
        page, lexical = await _lexical_page(reader, terms, query.cursor, size, filters, sight)
    # "Did you mean" is about spelling: a word no skill holds, or words few skills hold
    # (semantic neighbours do not count: they would hide the suggestion for a typo).
    if query.cursor is None and (lexical.unknown_words or lexical.total < SUGGEST_BELOW):
        page.suggestions = await suggest(reader, query.q, sight)
    return page


async def _lexical_page(
    reader: QuickReader,
    terms: QueryTerms,
    cursor: str | None,
    size: int,
    filters: Filters,
    sight: Sight,
) -> tuple[SearchPage, Ranking]:
    after = decode_position(cursor) if cursor is not None else None
    ranking = await rank_lexical(
        reader, terms, size=size + 1, after=after, filters=filters, sight=sight
    )
    candidates = ranking.candidates
    next_cursor = None
    if len(candidates) > size:
        candidates = candidates[:size]
        next_cursor = encode_position(candidates[-1], ranking)
    rows = await skill_rows(reader, [c.skill_id for c in candidates])
    items = [search_hit(rows[c.skill_id], list(c.fields)) for c in candidates if c.skill_id in rows]
    page = SearchPage(
        items=items,
        next_cursor=next_cursor,
        total=ranking.total,
        total_approximate=ranking.total_approximate,
    )
    return page, ranking


class SearchService:
    """Tags and stats over visible skills (not deleted, with an installable version)."""

    def __init__(self, session: AsyncSession, sight: Sight) -> None:
        self.session = session
        self.sight = sight
        self.params = sight.params()

    def _seen(self) -> Any:
        """Visible skills this caller may see (the one rule's SQL form)."""
        return and_(visible(), visible_to(self.sight.shape))

    async def tags(self, cursor: str | None, limit: int | None) -> Page[TagCount]:
        """Tags of visible skills with counts, most used first."""
        count = func.count().label("count")
        grouped = (
            select(SkillTag.tag, count)
            .join(Skill, Skill.id == SkillTag.skill_id)
            .where(self._seen())
            .group_by(SkillTag.tag)
        ).subquery()
        keys = (SortKey("count", True), SortKey("tag", False, str))
        columns = [grouped.c.count, grouped.c.tag]
        page = select(grouped).order_by(grouped.c.count.desc(), grouped.c.tag.asc())
        params: dict[str, Any] = dict(self.params)
        if cursor is not None:
            page = page.where(after(columns, keys))
            params |= {f"k{i}": v for i, v in enumerate(decode_keys(cursor, "tags", keys))}
        size = clamp_limit(limit)
        rows = (await self.session.execute(page.limit(size + 1), params)).all()
        total = (
            await self.session.execute(select(func.count()).select_from(grouped), self.params)
        ).scalar_one()
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
        seen, params = self._seen(), self.params
        totals = select(func.count(), func.coalesce(func.sum(Skill.downloads), 0)).where(seen)
        skills, downloads = (await self.session.execute(totals, params)).one()
        versions = (
            await self.session.execute(
                select(func.count(Version.id))
                .join(Skill, Skill.id == Version.skill_id)
                .where(seen, Version.deleted_at.is_(None), PUBLIC_VERSION),
                params,
            )
        ).scalar_one()
        # Namespaces with something this caller may see (an empty or hidden one is not counted).
        namespaces = (
            await self.session.execute(
                select(func.count(func.distinct(Skill.namespace_id))).where(seen), params
            )
        ).scalar_one()
        top = (
            await self.session.execute(
                select(Skill)
                .where(seen)
                .order_by(Skill.downloads.desc(), Skill.id.desc())
                .limit(TOP_SKILLS),
                params,
            )
        ).scalars()
        return CatalogStats(
            skills=skills,
            versions=versions,
            namespaces=namespaces,
            downloads=int(downloads),
            top=[to_summary(s) for s in top],
        )
