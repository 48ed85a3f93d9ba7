"""Hybrid ranking: the lexical top candidates fused with the semantic ones (`fusion`).

Both candidate lists are bounded (`LEXICAL_CANDIDATES`, `service.CANDIDATES`), so a
broad query costs the same as a selective one. The fused list is deterministic for a
given catalogue (ties go by skill id) and is paged with the relevance sort's keyset
cursor (exact, score, id): no duplicates, no gaps. Semantic candidates are read back
through `visible()` and the query's filters, so a yanked, deleted or hidden skill
never surfaces through the vector path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from skreg_common.quickread import QuickReader
from skreg_proto.pagination import encode_cursor
from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
)

from skreg_catalog.search.backend import backend_for
from skreg_catalog.search.statements import _LISTED, SORTS, decode_keys, visible
from skreg_catalog.semantic.fusion import Fused, fuse
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.skills.models import Skill, SkillTag

LEXICAL_CANDIDATES = 100


def _exact() -> Any:
    exact_ns = bindparam("exact_ns", type_=String())
    is_exact = and_(
        Skill.name == bindparam("exact_name", type_=String()),
        or_(exact_ns == "", Skill.namespace == exact_ns),
    )
    return case((is_exact, 1), else_=0).label("exact")


def _among(dialect: str) -> Any:
    """`Skill.id` in the bound list `ids` (one prepared statement for any length)."""
    if dialect == "postgresql":
        return Skill.id == any_(bindparam("ids", type_=ARRAY(Integer)))
    values = select(column("value", Integer)).select_from(
        func.json_each(bindparam("ids", type_=String()))
    )
    return Skill.id.in_(values.scalar_subquery())


def _filtered(statement: Select[Any], tag: bool, namespace: bool) -> Select[Any]:
    statement = statement.where(visible())
    if namespace:
        statement = statement.where(Skill.namespace == bindparam("namespace", type_=String()))
    if tag:
        tagged = select(SkillTag.skill_id).where(SkillTag.tag == bindparam("tag", type_=String()))
        statement = statement.where(Skill.id.in_(tagged))
    return statement


@lru_cache(maxsize=16)
def _lexical(dialect: str, tag: bool, namespace: bool) -> Select[Any]:
    """The lexical top candidates: ids and exactness only (rows are read for one page)."""
    matches = backend_for(dialect).matches().subquery()
    statement = select(Skill.id, _exact()).join(matches, matches.c.skill_id == Skill.id)
    return (
        _filtered(statement, tag, namespace)
        .order_by(literal_column("exact").desc(), matches.c.score.desc(), Skill.id)
        .limit(LEXICAL_CANDIDATES)
    )


@lru_cache(maxsize=16)
def _visible_among(dialect: str, tag: bool, namespace: bool) -> Select[Any]:
    """Which semantic candidates may be shown (visible, matching the filters)."""
    return _filtered(select(Skill.id, _exact()).where(_among(dialect)), tag, namespace)


@lru_cache(maxsize=4)
def _listed(dialect: str) -> Select[Any]:
    columns: tuple[Any, ...] = _LISTED
    return select(*columns).where(_among(dialect), visible())


def _ids(dialect: str, ids: list[int]) -> Any:
    return ids if dialect == "postgresql" else json.dumps(ids)


async def hybrid_rows(
    reader: QuickReader,
    semantic: SemanticSearch,
    text: str,
    params: Mapping[str, Any],
    *,
    tag: bool,
    namespace: bool,
    cursor: str | None,
    size: int,
) -> tuple[list[dict[str, Any]], str | None, int] | None:
    """One page of fused results, the next cursor and the total; None when the semantic
    side has nothing to add (off, or nothing embedded yet): rank lexically then."""
    nearest = await semantic.nearest(reader, text)
    if not nearest:
        return None
    dialect = reader.dialect_name
    base = {k: v for k, v in params.items() if not k.startswith("k")}
    lexical = await reader.all(_lexical(dialect, tag, namespace), base)
    exact = {int(row["id"]): int(row["exact"]) for row in lexical}
    wanted = [skill_id for skill_id, _ in nearest if skill_id not in exact]
    if wanted:
        shown = await reader.all(
            _visible_among(dialect, tag, namespace), {**base, "ids": _ids(dialect, wanted)}
        )
        exact.update((int(row["id"]), int(row["exact"])) for row in shown)
    close = [skill_id for skill_id, _ in nearest if skill_id in exact]
    fused = fuse([(int(r["id"]), int(r["exact"])) for r in lexical], close)
    for entry in fused:
        entry.exact = exact[entry.skill_id]
    fused.sort(key=lambda f: (-f.exact, -f.score, f.skill_id))
    total = len(fused)
    if cursor is not None:
        after = decode_keys(cursor, "relevance", SORTS["relevance"])
        at = (-after[0], -after[1], after[2])
        fused = [f for f in fused if (-f.exact, -f.score, f.skill_id) > at]
    page = fused[: size + 1]
    next_cursor = None
    if len(page) > size:
        page = page[:size]
        last = page[-1]
        next_cursor = encode_cursor(["relevance", last.exact, last.score, last.skill_id])
    listed = await reader.all(_listed(dialect), {"ids": _ids(dialect, [f.skill_id for f in page])})
    rows = {int(row["id"]): row for row in listed}
    return [_row(rows[f.skill_id], f) for f in page if f.skill_id in rows], next_cursor, total


def _row(row: Mapping[str, Any], fused: Fused) -> dict[str, Any]:
    return {**row, "exact": fused.exact, "score": fused.score, "matched": fused.matched}
