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
    or_,
    select,
)

from skreg_catalog.search.statements import _LISTED, SORTS, decode_keys, statements, visible
from skreg_catalog.semantic.fusion import Fused, fuse
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.skills.models import Skill, SkillTag

LEXICAL_CANDIDATES = 100


@lru_cache(maxsize=16)
def _by_ids(dialect: str, tag: bool, namespace: bool) -> Select[Any]:
    """Listing rows of visible skills among `ids` (matching the filters), with `exact`."""
    if dialect == "postgresql":
        among = Skill.id == any_(bindparam("ids", type_=ARRAY(Integer)))
    else:
        values = select(column("value", Integer)).select_from(
            func.json_each(bindparam("ids", type_=String()))
        )
        among = Skill.id.in_(values.scalar_subquery())
    exact_ns = bindparam("exact_ns", type_=String())
    is_exact = and_(
        Skill.name == bindparam("exact_name", type_=String()),
        or_(exact_ns == "", Skill.namespace == exact_ns),
    )
    statement = select(*_LISTED, case((is_exact, 1), else_=0).label("exact")).where(
        among, visible()
    )
    if namespace:
        statement = statement.where(Skill.namespace == bindparam("namespace", type_=String()))
    if tag:
        tagged = select(SkillTag.skill_id).where(SkillTag.tag == bindparam("tag", type_=String()))
        statement = statement.where(Skill.id.in_(tagged))
    return statement


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
    shape = (dialect, "relevance", True, tag, namespace, False, LEXICAL_CANDIDATES - 1)
    lexical = await reader.all(statements(shape)[0], base)
    rows = {int(row["id"]): row for row in lexical}
    wanted = [skill_id for skill_id, _ in nearest if skill_id not in rows]
    if wanted:
        ids: Any = wanted if dialect == "postgresql" else json.dumps(wanted)
        for row in await reader.all(_by_ids(dialect, tag, namespace), {**base, "ids": ids}):
            rows[int(row["id"])] = row
    close = [skill_id for skill_id, _ in nearest if skill_id in rows]
    fused = fuse([(int(r["id"]), int(r["exact"])) for r in lexical], close)
    total = len(fused)
    if cursor is not None:
        exact, score, last = decode_keys(cursor, "relevance", SORTS["relevance"])
        fused = [f for f in fused if (-f.exact, -f.score, f.skill_id) > (-exact, -score, last)]
    page = fused[: size + 1]
    next_cursor = None
    if len(page) > size:
        page = page[:size]
        last_entry = page[-1]
        next_cursor = encode_cursor(
            ["relevance", last_entry.exact, last_entry.score, last_entry.skill_id]
        )
    return [_row(rows[f.skill_id], f) for f in page], next_cursor, total


def _row(row: Mapping[str, Any], fused: Fused) -> dict[str, Any]:
    return {**row, "exact": fused.exact, "score": fused.score, "matched": fused.matched}
