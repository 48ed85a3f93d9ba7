"""Full-text matching: one protocol, an FTS5 backend for SQLite and a tsvector one for PostgreSQL.

A backend only answers "which skills match these terms, and how well": a
subquery of `(skill_id, score)`. Filters, sorting, the exact-name boost and
keyset paging are shared (`search.service`), so both backends page the same way.

Scores depend on the matching document alone, never on corpus statistics
(no IDF), so publishing other skills while a client pages cannot reorder the
rows it has not seen yet: the keyset cursor stays stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.sql.expression import ColumnElement

from skreg_catalog.search.models import SearchDocument

MAX_TERMS = 8
MAX_TERM_LENGTH = 64
SCORE_SCALE = 1_000_000  # scores are compared in cursors: integers, never floats

_TERM = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class SearchTerms:
    """A user's query reduced to safe word tokens (no query-language syntax survives)."""

    text: str
    terms: tuple[str, ...]

    @classmethod
    def parse(cls, query: str) -> SearchTerms:
        """Lowercase word tokens, bounded in number and length."""
        text = query.strip().lower()
        terms = tuple(t[:MAX_TERM_LENGTH] for t in _TERM.findall(text))[:MAX_TERMS]
        return cls(text=text[:200], terms=terms)


class SearchBackend(Protocol):
    """Matching documents as a `(skill_id, score)` subquery, built once and parametrised."""

    def matches(self) -> Select[int, int]:
        """Skills matching every term, with a score that depends only on their own text."""
        ...

    def parameters(self, terms: SearchTerms) -> dict[str, Any]:
        """The bind parameters of `matches()` for these terms (never empty terms)."""
        ...


_FTS = table("catalog_search_fts", column("rowid", Integer), column("catalog_search_fts"))
# Column weights: a hit in the name outranks one in tags, then in the description; a
# match only in the body scores 0 (it matched somewhere, so that is where). Skipping
# the body's posting list keeps scoring cheap for common words.
_SQLITE_FIELDS = (("name", 8), ("namespace tags", 4), ("description", 2))


def _fts_expression(terms: tuple[str, ...]) -> str:
    # Terms are word characters only, so quoting them cannot inject FTS5 syntax.
    quoted = [f'"{term}"' for term in terms]
    quoted[-1] += "*"  # the last word may be unfinished (search as you type)
    return " ".join(quoted)


def _fts_match(parameter: str) -> ColumnElement[bool]:
    return _FTS.c.catalog_search_fts.op("MATCH")(bindparam(parameter, type_=String()))


class SqliteSearch:
    """FTS5 (porter stemming, prefix indexes) over `catalog_search_documents`."""

    def matches(self) -> Select[int, int]:
        """Rows matching all terms; score = weighted sum of the fields that hold all of them."""
        score: ColumnElement[int] | None = None
        for index, (_, weight) in enumerate(_SQLITE_FIELDS):
            in_field = select(_FTS.c.rowid).where(_fts_match(f"fts_{index}"))
            part = cast(_FTS.c.rowid.in_(in_field.scalar_subquery()), Integer) * weight
            score = part if score is None else score + part
        assert score is not None
        return select(_FTS.c.rowid.label("skill_id"), (score * SCORE_SCALE).label("score")).where(
            _fts_match("fts_all")
        )

    def parameters(self, terms: SearchTerms) -> dict[str, Any]:
        """The FTS5 expression, and one per weighted field group."""
        expression = _fts_expression(terms.terms)
        params = {"fts_all": expression}
        for index, (fields, _) in enumerate(_SQLITE_FIELDS):
            params[f"fts_{index}"] = f"{{{fields}}} : ({expression})"
        return params


class PostgresSearch:
    """A weighted `tsvector` (GIN) plus trigram similarity on the name (`pg_trgm`) for typos."""

    def matches(self) -> Select[int, int]:
        """Rows whose text matches all terms, or whose name is close to the query."""
        query = func.to_tsquery("english", bindparam("tsquery", type_=String()))
        tsv: ColumnElement[Any] = literal_column("catalog_search_documents.tsv")
        words = bindparam("words", type_=String())
        rank = func.ts_rank(tsv, query) + func.similarity(SearchDocument.name, words)
        return select(
            SearchDocument.skill_id.label("skill_id"),
            cast(rank * SCORE_SCALE, Integer).label("score"),
        ).where(tsv.op("@@")(query) | SearchDocument.name.op("%")(words))

    def parameters(self, terms: SearchTerms) -> dict[str, Any]:
        """A prefix query on the last word, and the words for trigram similarity."""
        return {
            "tsquery": " & ".join([*terms.terms[:-1], f"{terms.terms[-1]}:*"]),
            "words": " ".join(terms.terms),
        }


_BACKENDS: dict[str, SearchBackend] = {"postgresql": PostgresSearch(), "sqlite": SqliteSearch()}


def backend_for(dialect: str) -> SearchBackend:
    """The backend for a SQLAlchemy dialect name."""
    return _BACKENDS["postgresql" if dialect == "postgresql" else "sqlite"]
