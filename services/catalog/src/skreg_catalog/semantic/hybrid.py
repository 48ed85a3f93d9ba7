"""Hybrid ranking: the lexical top (`search.lexical.rank_lexical`) fused with the skills
closest in meaning (`SemanticSearch.nearest`) by `search.lexical.fuse`.

The fused window is bounded: the best `LEXICAL_CANDIDATES` lexical candidates and the
semantic service's own `CANDIDATES`, so a broad query costs what a selective one does.
Past the window the remaining lexical matches follow in lexical order (the "rest"
phase), so paging reaches every match the total counts.

Cursors carry the IDFs and completions page one ranked with (`search.paging`), so every
page scores the lexical side as page one did; ties go by skill id: keyset paging with
no duplicates and no gaps. Semantic candidates are read back through `visible()` and
the query's filters: a yanked, deleted or hidden skill never surfaces through the
vector path.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from skreg_common.quickread import QuickReader
from skreg_proto.catalog import SearchHit, SearchPage
from sqlalchemy import Integer, Select, String, bindparam, select

from skreg_catalog.search.lexical import (
    Candidate,
    Filters,
    Position,
    QueryTerms,
    Ranking,
    columns_of,
    fuse,
    list_param,
    listed,
    rank_lexical,
)
from skreg_catalog.search.paging import cursor_tag, decode_position, encode_position
from skreg_catalog.search.statements import skill_rows, visible
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.skills.convert import search_hit
from skreg_catalog.skills.models import Skill, SkillTag
from skreg_catalog.visibility import Shape, Sight, visible_to

LEXICAL_CANDIDATES = 100
CONFIDENT_SIMILARITY = 0.4
"""The similarity a semantic candidate needs when half or more of the query's words are
held by no skill (typos, made-up words, random tokens): those embed near anything short at
0.25-0.34, so below this a search for nonsense would answer with skills. A query in
words the catalogue knows keeps every candidate from `semantic.service.MIN_SIMILARITY`
(0.25) up: held-out task queries found their skill there (bench/bench_relevance.py)."""
SCALE = 1_000_000_000  # fused scores go into cursors: integers, never floats
SEMANTIC = "semantic"  # in `SearchHit.matched`, after the lexical fields
_FUSED = "hybrid"  # cursor tags: within the fused window, then the lexical rest
_REST = "hybrid-rest"


@lru_cache(maxsize=16)
def _shown(dialect: str, namespace: bool, tag: bool, seen: Shape | None) -> Select[Any]:
    """Which of the semantic candidates bound as `ids` may be shown for this query (to a
    caller of shape `seen`; None: one who sees everything)."""
    statement = columns_of(Skill.id).where(listed(dialect, Skill.id, "ids", Integer()), visible())
    if seen is not None:
        statement = statement.where(visible_to(seen))
    if namespace:
        statement = statement.where(Skill.namespace == bindparam("namespace", type_=String()))
    if tag:
        tagged = select(SkillTag.skill_id).where(SkillTag.tag == bindparam("tag", type_=String()))
        statement = statement.where(Skill.id.in_(tagged))
    return statement


async def _semantic_ids(
    reader: QuickReader, nearest: list[tuple[int, float]], filters: Filters, sight: Sight
) -> list[int]:
    """The nearest skills that may be shown, closest first."""
    if not nearest:
        return []
    dialect = reader.dialect_name
    params: dict[str, Any] = {"ids": list_param(dialect, [i for i, _ in nearest])}
    if filters.namespace:
        params["namespace"] = filters.namespace
    if filters.tag:
        params["tag"] = filters.tag
    seen = None if sight.everything and sight.namespaces is None else sight.shape
    if seen is not None:
        params.update(sight.params())
    statement = _shown(dialect, bool(filters.namespace), bool(filters.tag), seen)
    allowed = {int(row["id"]) for row in await reader.all(statement, params)}
    return [skill_id for skill_id, _ in nearest if skill_id in allowed]


async def hybrid_page(
    reader: QuickReader,
    semantic: SemanticSearch,
    terms: QueryTerms,
    text: str,
    *,
    size: int,
    cursor: str | None,
    filters: Filters,
    sight: Sight,
) -> tuple[SearchPage, Ranking] | None:
    """One page of the fused ranking, and the lexical ranking it fused (its total and
    unknown words decide whether to suggest spellings).

    None when the semantic side has nothing to add (off, or nothing embedded yet) and
    the cursor is not a hybrid one: rank lexically then."""
    tag = cursor_tag(cursor) if cursor is not None else None
    if cursor is not None and tag not in (_FUSED, _REST):
        # A lexical cursor (semantic turned on between pages): stay lexical. A malformed
        # one (no tag) goes there too, whose decoding answers 400; here it read as page 1.
        return None
    nearest = await semantic.nearest(reader, text)
    if not nearest and tag is None:
        return None
    position = decode_position(cursor, tag) if cursor is not None and tag is not None else None
    ranking = await rank_lexical(
        reader,
        terms,
        size=LEXICAL_CANDIDATES + 1,
        filters=filters,
        ranked_as=position,
        sight=sight,
    )
    if not _mostly_known(terms, ranking):
        nearest = [
            (skill_id, score) for skill_id, score in nearest if score >= CONFIDENT_SIMILARITY
        ]
    window = ranking.candidates[:LEXICAL_CANDIDATES]
    more_lexical = len(ranking.candidates) > LEXICAL_CANDIDATES
    close = await _semantic_ids(reader, nearest, filters, sight)
    lexical = {c.skill_id: c for c in window}
    fused = [
        Candidate(skill_id, lexical[skill_id].exact if skill_id in lexical else 0,
                  round(score * SCALE), ())
        for skill_id, score in fuse(window, close)
    ]  # fmt: skip
    fused.sort(key=lambda c: c.key)
    semantic_ids = set(close)
    extras = len(semantic_ids - lexical.keys())

    picked: list[Candidate] = []
    next_cursor = None
    if tag != _REST:
        after = [c for c in fused if position is None or not position.before(c)]
        picked = after[: size + 1]
        if len(picked) > size:
            picked = picked[:size]
            next_cursor = encode_position(picked[-1], ranking, _FUSED)
        elif len(picked) == size and more_lexical:  # the window ends with this page
            next_cursor = encode_position(window[-1], ranking, _REST)
    if next_cursor is None and more_lexical and len(picked) < size:
        # Past the window: the lexical matches it did not hold, in lexical order.
        start = position if tag == _REST else _position(window[-1], ranking)
        wanted = size - len(picked)
        rest = await rank_lexical(
            reader,
            terms,
            size=wanted + 1 + len(semantic_ids),
            after=start,
            filters=filters,
            sight=sight,
        )
        tail = [c for c in rest.candidates if c.skill_id not in semantic_ids]
        more = len(tail) > wanted or len(rest.candidates) == wanted + 1 + len(semantic_ids)
        tail = tail[:wanted]
        picked.extend(tail)
        if more and tail:
            next_cursor = encode_position(tail[-1], ranking, _REST)
        for candidate in tail:
            lexical[candidate.skill_id] = candidate

    rows = await skill_rows(reader, [c.skill_id for c in picked])
    items = [
        _hit(rows[c.skill_id], lexical.get(c.skill_id), c.skill_id in semantic_ids)
        for c in picked
        if c.skill_id in rows
    ]
    if more_lexical:
        # Lexical matches past the window are counted (or estimated) by the ranking; a
        # semantic candidate outside the window may be one of them: an upper bound.
        total, approximate = ranking.total + extras, ranking.total_approximate or extras > 0
    else:
        total, approximate = len(fused), False
    page = SearchPage(
        items=items, next_cursor=next_cursor, total=total, total_approximate=approximate
    )
    return page, ranking


def _mostly_known(terms: QueryTerms, ranking: Ranking) -> bool:
    """More than half the query's words are held by some skill (the last one also when
    it completes to one). Judged from the IDFs and completions the ranking used, which
    later pages take from the cursor: every page keeps the same semantic candidates."""
    last = len(terms.groups) - 1
    known = sum(
        1
        for index, group in enumerate(terms.groups)
        if any(term in ranking.idfs for term in group) or (index == last and ranking.completions)
    )
    return known * 2 > len(terms.groups)


def _position(last: Candidate, ranking: Ranking) -> Position:
    return Position(last.exact, last.score, last.skill_id, ranking.idfs, ranking.completions)


def _hit(row: dict[str, Any], lexical: Candidate | None, close: bool) -> SearchHit:
    matched = list(lexical.fields) if lexical is not None else []
    if close:
        matched.append(SEMANTIC)
    return search_hit(row, matched)
