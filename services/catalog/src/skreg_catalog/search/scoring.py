"""Scoring in the database: a multi-word query's matches summed and ranked by SQL, top-k out.

For queries whose terms hold at most `SQL_SCORING_LIMIT` postings in all, the
database joins the query's terms to their postings, sums the same score
`lexical._Scorer` computes (best IDF-weighted posting per word, times the coverage
factor), counts the matches and returns only the page: the per-match work runs
in C, and Python sees `limit` rows. Past the limit, the threshold algorithm in
`search.lexical` bounds the work instead.

The query's terms travel as one parameter: a JSON array on SQLite (`json_each`),
arrays on PostgreSQL (`unnest`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Integer, Select, column, text

SQL_SCORING_LIMIT = 16_384

_SQLITE_TERMS = """
    SELECT json_extract(value, '$[0]') AS term, json_extract(value, '$[1]') AS idf,
           json_extract(value, '$[2]') AS g, json_extract(value, '$[3]') AS gidf
    FROM json_each(:spec)
"""
_POSTGRES_TERMS = """
    SELECT * FROM unnest(CAST(:terms AS text[]), CAST(:idfs AS bigint[]),
                         CAST(:groups AS int[]), CAST(:gidfs AS bigint[])) AS q(term, idf, g, gidf)
"""
_SQLITE_EXACT = "(skill_id IN (SELECT value FROM json_each(:exact)))"
_POSTGRES_EXACT = "CAST(skill_id = ANY(CAST(:exact AS int[])) AS int)"
_SQLITE_SUM = "SUM({part}) * (:total_idf + SUM({gidf}))"
_POSTGRES_SUM = "CAST(SUM({part}) * (:total_idf + SUM({gidf})) AS bigint)"

# Profiled (10,000 skills, SQLite, distinct two-word queries, ~900 postings each): the
# statement was half of a search's time, and most of it went to work done for every
# match that only the page needs: `COUNT(*) OVER ()` (a second pass over all groups)
# and four `MAX(fields & bit)` aggregates per posting. Here the matches are scored
# once into `scored` (materialised: counted once, ranked once), and the fields are
# looked up for the page's rows alone (a primary-key probe per term): 4.5 -> 2.1 ms.
_RANKED = """
scored AS MATERIALIZED ({scored}),
ranked AS (SELECT skill_id, {exact} AS exact, score FROM scored),
page AS (
    SELECT skill_id, exact, score FROM ranked
    WHERE :after = 0 OR exact < :c_exact
       OR (exact = :c_exact AND (score < :c_score OR (score = :c_score AND skill_id > :c_id)))
    ORDER BY exact DESC, score DESC, skill_id
    LIMIT :limit
)
SELECT page.skill_id AS skill_id, page.exact AS exact, page.score AS score,
       (SELECT COUNT(*) FROM scored) AS total,
       (SELECT MAX(p.fields & 1) + MAX(p.fields & 2) + MAX(p.fields & 4) + MAX(p.fields & 8)
        FROM q JOIN catalog_search_postings p ON p.term = q.term AND p.skill_id = page.skill_id
       ) AS fields
FROM page
ORDER BY page.exact DESC, page.score DESC, page.skill_id
"""
_STATEMENT = """
WITH q AS MATERIALIZED ({terms}),
best AS (
    SELECT p.skill_id AS skill_id, q.g AS g, MAX(p.weight * q.idf) AS part, MAX(q.gidf) AS gidf
    FROM q JOIN catalog_search_postings p ON p.term = q.term
    GROUP BY p.skill_id, q.g
),"""
_GROUPED = "SELECT skill_id, {score} AS score FROM best GROUP BY skill_id"

# One word, one term (no completions): the per-word best is the term's own posting, so
# one grouping suffices (the same score; measured ~1 ms less per query at 10k).
_SINGLE_STATEMENT = "\nWITH q AS MATERIALIZED ({terms}),"
_SINGLE_GROUPED = """SELECT p.skill_id AS skill_id, {score} AS score
    FROM q JOIN catalog_search_postings p ON p.term = q.term GROUP BY p.skill_id"""


@lru_cache(maxsize=8)
def scored_page(dialect: str, single: bool = False) -> Select[Any]:
    """The ranked page of a query's matches (see the module docstring for parameters);
    `single`: every word is one term."""
    pg = dialect == "postgresql"
    total = _POSTGRES_SUM if pg else _SQLITE_SUM
    if single:
        score = total.format(part="p.weight * q.idf", gidf="q.gidf")
        scored, template = _SINGLE_GROUPED.format(score=score), _SINGLE_STATEMENT
    else:
        scored, template = _GROUPED.format(score=total.format(part="part", gidf="gidf")), _STATEMENT
    sql = "".join((template, _RANKED)).format(
        terms=_POSTGRES_TERMS if pg else _SQLITE_TERMS,
        scored=scored,
        exact=_POSTGRES_EXACT if pg else _SQLITE_EXACT,
    )
    statement = text(sql).columns(
        column("skill_id", Integer()),
        column("exact", Integer()),
        column("score", Integer()),
        column("total", Integer()),
        column("fields", Integer()),  # the bits of the fields any term was found in
    )
    # A textual select runs like any other through QuickReader (compiled once per dialect).
    return cast("Select[Any]", statement)


def spec_params(
    dialect: str, groups: list[tuple[str, ...]], idfs: Mapping[str, int]
) -> dict[str, Any]:
    """The terms, their IDFs, their word (group) and the group's IDF, bound for `dialect`."""
    rows: list[tuple[str, int, int, int]] = []
    for index, group in enumerate(groups):
        group_idf = max((idfs[t] for t in group), default=0)
        rows.extend((term, idfs[term], index, group_idf) for term in group)
    if dialect == "postgresql":
        return {
            "terms": [r[0] for r in rows],
            "idfs": [r[1] for r in rows],
            "groups": [r[2] for r in rows],
            "gidfs": [r[3] for r in rows],
        }
    return {"spec": json.dumps(rows)}
