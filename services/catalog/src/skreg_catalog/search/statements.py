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
    case,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.sql.expression import ColumnElement

from skreg_catalog.search.backend import backend_for
from skreg_catalog.search.models import VISIBLE_SKILLS, CatalogCounter
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


TOTAL = "total"
"""The column of text-search pages that holds the number of matches in all."""


@lru_cache(maxsize=512)
def statements(shape: Shape) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements for one shape, built once (building costs more than
    running them on SQLite)."""
    dialect, sort, text, tag, namespace, cursor, limit, sight = shape
    keys = SORTS[sort]
    if text:
        matches = backend_for(dialect).matches().subquery()
        exact_ns = bindparam("exact_ns", type_=String())
        is_exact = and_(
            Skill.name == bindparam("exact_name", type_=String()),
            or_(exact_ns == "", Skill.namespace == exact_ns),
        )
        base = select(
            *_LISTED, case((is_exact, 1), else_=0).label("exact"), matches.c.score.label("score")
        ).join(matches, matches.c.skill_id == Skill.id)
    else:
        zero = literal(0, Integer)
        base = select(*_LISTED, zero.label("exact"), zero.label("score"))
    base = base.where(visible())
    if sight is not None:
        base = base.where(visible_to(sight))
    if namespace:
        base = base.where(Skill.namespace == bindparam("namespace", type_=String()))
    if tag:
        tagged = select(SkillTag.skill_id).where(SkillTag.tag == bindparam("tag", type_=String()))
        base = base.where(Skill.id.in_(tagged))
    if text:
        # A text search ranks every match anyway, so the total rides along with the
        # page (a window count over the candidates) instead of costing a second
        # full-text query. Browsing keeps its separate count: it reads a running total.
        base = base.add_columns(func.count().over().label(TOTAL))
    candidates = base.subquery()
    columns = [candidates.c[key.column] for key in keys]
    page = select(candidates).order_by(
        *[c.desc() if k.descending else c.asc() for c, k in zip(columns, keys, strict=True)]
    )
    if cursor:
        page = page.where(after(columns, keys))
    return page.limit(limit + 1), count_statement(dialect, text, tag, namespace, sight)


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
            matches = backend_for(dialect).matches().subquery()
            count = count.where(Skill.id.in_(select(matches.c.skill_id)))
        if namespace:
            count = count.where(Skill.namespace == bindparam("namespace", type_=String()))
        if tag:
            tagged = select(SkillTag.skill_id).where(
                SkillTag.tag == bindparam("tag", type_=String())
            )
            count = count.where(Skill.id.in_(tagged))
        return count
    if text:
        matches = backend_for(dialect).matches().subquery()
        count = select(func.count()).select_from(matches)
        if not (tag or namespace):
            return count
        count = count.join(Skill, Skill.id == matches.c.skill_id)
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
