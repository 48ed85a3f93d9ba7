"""Keyset paging and the search statements, built once per shape and parametrised.

Every sort is a list of keys ending in the skill id, so each row has a unique
position; the cursor is that position for the last row of a page. A page is
"rows strictly after the cursor", which gives no duplicates and no gaps while
other skills are published in between (a new row lands either before the cursor,
unseen, or after it, seen once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from skreg_common.errors import BadRequest
from skreg_common.quickread import QuickReader
from skreg_proto.pagination import (
    InvalidCursor,
    cursor_int,
    cursor_text,
    cursor_time,
    decode_cursor,
)
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.sql.expression import ColumnElement

from skreg_catalog.search.lexical import columns_of, list_param, listed
from skreg_catalog.search.models import VISIBLE_SKILLS, CatalogCounter, SearchPosting
from skreg_catalog.skills.models import Skill, SkillTag
from skreg_catalog.visibility import Shape as SightShape
from skreg_catalog.visibility import visible_to


@dataclass(frozen=True)
class SortKey:
    """One key of a sort: the column name in the candidate subquery, and its direction."""

    column: str
    descending: bool
    kind: type = int


SORTS: dict[str, tuple[SortKey, ...]] = {
    "relevance": (SortKey("exact", True), SortKey("score", True), SortKey("id", False)),
    # Tie-breaks go the same way as the main key, so one index serves the whole order.
    "downloads": (SortKey("downloads", True), SortKey("id", True)),
    "updated": (SortKey("updated_at", True, dt.datetime), SortKey("id", True)),
    "name": (SortKey("name", False, str), SortKey("id", False)),
}


def visible() -> ColumnElement[bool]:
    return and_(Skill.deleted_at.is_(None), Skill.latest_version_id.is_not(None))


def encode_key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def decode_keys(cursor: str, sort: str, keys: Sequence[SortKey]) -> list[Any]:
    try:
        tagged = decode_cursor(cursor)
        if not tagged or tagged[0] != sort:
            raise InvalidCursor("cursor belongs to another sort")
        position = tagged[1:]
        if len(position) != len(keys):
            raise InvalidCursor("cursor does not match the sort")
        # Each value is bound as a query parameter typed like its column: one the column
        # cannot hold (a naive or overflowing timestamp, a NUL, an int past 32 bits, as
        # every int key is an `Integer` column) is a driver error, so refuse it here.
        readers: dict[type, Callable[[Any], Any]] = {
            dt.datetime: cursor_time,
            int: partial(cursor_int, bits=32),
            str: cursor_text,
        }
        return [readers[key.kind](raw) for key, raw in zip(keys, position, strict=True)]
    except (InvalidCursor, TypeError, ValueError) as exc:
        raise BadRequest("invalid cursor (it belongs to another query or was altered)") from exc


def after(columns: Sequence[Any], keys: Sequence[SortKey]) -> Any:
    """Rows strictly after the cursor (bind parameters `k0`, `k1`, …) in the order of `keys`."""
    marks = [bindparam(f"k{i}", type_=c.type) for i, c in enumerate(columns)]
    if all(k.descending == keys[0].descending for k in keys):
        row, at = tuple_(*columns), tuple_(*marks)
        return row < at if keys[0].descending else row > at
    clauses = []
    for i, key in enumerate(keys):
        step = columns[i] < marks[i] if key.descending else columns[i] > marks[i]
        clauses.append(and_(*[columns[j] == marks[j] for j in range(i)], step))
    return or_(*clauses)


# What a search statement's shape depends on; its values are bind parameters. The last
# part is the caller's `visibility.Shape`, None for a caller who sees everything.
Shape = tuple[str, str, bool, bool, bool, bool, int, SightShape | None]
_LISTED = (
    Skill.id, Skill.namespace, Skill.name, Skill.description, Skill.latest_version, Skill.tags,
    Skill.downloads, Skill.updated_at, Skill.deprecated,
)  # fmt: skip


@lru_cache(maxsize=512)
def statements(shape: Shape) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements for one shape, built once (building costs more than
    running them on SQLite). Text here is a filter (any word, bound as `terms`): sorted
    by downloads, date or name; relevance ranks elsewhere (`search.lexical`)."""
    dialect, sort, text, tag, namespace, cursor, limit, sight = shape
    keys = SORTS[sort]
    zero = literal(0, Integer)
    base = select(*_LISTED, zero.label("exact"), zero.label("score"))
    base = base.where(visible())
    if text:
        base = base.where(Skill.id.in_(_matching(dialect)))
    if sight is not None:
        base = base.where(visible_to(sight))
    if namespace:
        base = base.where(Skill.namespace == bindparam("namespace", type_=String()))
    if tag:
        tagged = select(SkillTag.skill_id).where(SkillTag.tag == bindparam("tag", type_=String()))
        base = base.where(Skill.id.in_(tagged))
    candidates = base.subquery()
    columns = [candidates.c[key.column] for key in keys]
    page = select(candidates).order_by(
        *[c.desc() if k.descending else c.asc() for c, k in zip(columns, keys, strict=True)]
    )
    if cursor:
        page = page.where(after(columns, keys))
    return page.limit(limit + 1), count_statement(dialect, text, tag, namespace, sight)


def _matching(dialect: str) -> Any:
    """Skills holding any of the terms bound as `terms` (visible ones only have postings)."""
    return (
        select(SearchPosting.skill_id)
        .where(listed(dialect, SearchPosting.term, "terms", String()))
        .scalar_subquery()
    )


@lru_cache(maxsize=4)
def _rows_by_id(dialect: str) -> Select[Any]:
    return columns_of(*_LISTED).where(listed(dialect, Skill.id, "ids", Integer()))


async def skill_rows(reader: QuickReader, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The listed columns of these skills, by id (one statement)."""
    if not ids:
        return {}
    dialect = reader.dialect_name
    rows = await reader.all(_rows_by_id(dialect), {"ids": list_param(dialect, ids)})
    return {int(row["id"]): row for row in rows}


def count_statement(
    dialect: str, text: bool, tag: bool, namespace: bool, sight: SightShape | None = None
) -> Select[Any]:
    """How many rows the search has in all, touching as little as possible.

    Only visible skills have a search document and tags, so a text search counts
    its matches alone; filters join the skills they need. A caller who does not see
    everything counts only what it may see (the same predicate as its pages).
    """
    if sight is not None:
        count = select(func.count(Skill.id)).where(visible(), visible_to(sight))
        if text:
            count = count.where(Skill.id.in_(_matching(dialect)))
        if namespace:
            count = count.where(Skill.namespace == bindparam("namespace", type_=String()))
        if tag:
            tagged = select(SkillTag.skill_id).where(
                SkillTag.tag == bindparam("tag", type_=String())
            )
            count = count.where(Skill.id.in_(tagged))
        return count
    if text:
        count = select(func.count(Skill.id)).where(visible(), Skill.id.in_(_matching(dialect)))
    elif tag:
        count = select(func.count()).select_from(SkillTag)
        count = count.where(SkillTag.tag == bindparam("tag", type_=String()))
        if namespace:
            count = count.join(Skill, Skill.id == SkillTag.skill_id)
            count = count.where(Skill.namespace == bindparam("namespace", type_=String()))
        return count
    elif not namespace:
        # Every visible skill: a running total, not a scan.
        return select(func.coalesce(func.max(CatalogCounter.value), 0)).where(
            CatalogCounter.name == VISIBLE_SKILLS
        )
    else:
        count = select(func.count(Skill.id)).where(visible())
    if namespace:
        count = count.where(Skill.namespace == bindparam("namespace", type_=String()))
    if tag:
        tagged = select(SkillTag.skill_id).where(SkillTag.tag == bindparam("tag", type_=String()))
        count = count.where(Skill.id.in_(tagged))
    return count
