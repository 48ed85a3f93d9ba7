"""Lexical ranking with a bounded cost: top-k over the term index, best postings first.

Profiled before this module (10,000 skills, SQLite, read cache off): three quarters
of a search's time was SQLite running the FTS5 statement, which scored every match
(three extra MATCH passes for field weights), counted them all in a window and
sorted them; a word in every skill cost as much as the whole catalogue.

Here each query term reads its postings best-first (`ix_catalog_search_postings_rank`)
and stops early: Fagin's threshold algorithm. After reading the top `depth` postings
of every term, the candidates' full scores are known (one look-up of their other
terms), and no unseen skill can score more than the sum of the last weights read.
When the page's last row beats that bound the page is exact; otherwise the depth
grows (4 times) up to `MAX_DEPTH`, then the terms are scored in full (exact, unbounded:
a deep page of a broad multi-word query, which is rare).

Scoring (`score`): BM25F weights precomputed per skill (`search.terms`) times the
term's IDF, summed over query terms (the best of a prefix's completions counts for
the last word), times a coverage factor from 1 to 2 — the IDF share of the query's
terms the skill holds. So every term may match (any-term), skills holding all of
them come first (all-terms preferred), and a common word ("write", "the") barely
moves anything: its IDF is near zero, so it neither sinks a query nor decides one.

Visibility (`skreg_catalog.visibility`): a caller who may not see everything reads
each term's postings of the skills it may see only (the lists stay in weight order,
so the threshold argument holds over them), its exact-name matches likewise, and
its totals are counted over what it may see, never taken from the terms' counts of
the whole catalogue. IDFs stay catalogue-wide (they order results, show nothing).
When nothing indexed is hidden from the caller (a catalogue of public skills, for an
anonymous one) it ranks as a caller who sees everything, at the same bounded cost.

A multi-word query of more than `RESIDENT_FROM` postings, for a caller who sees every
skill, is scored instead over postings the process keeps in memory (`search.resident`,
checked against each term's change token on every search): the same scores and
order, at a cost that does not grow with the catalogue as the SQL scorer's does.

The seam for other rankers (semantic similarity, issue 19): `rank_lexical` returns
ranked `Candidate`s with their lexical score and matched fields; `fuse` combines
them with another ranked list of skill ids by reciprocal rank.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from skreg_common.quickread import QuickReader
from skreg_proto.codec import to_json
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from skreg_catalog.search.models import (
    VISIBLE_SKILLS,
    CatalogCounter,
    SearchPosting,
    SearchTerm,
)
from skreg_catalog.search.resident import rank_resident, resident_for
from skreg_catalog.search.scoring import SQL_SCORING_LIMIT, scored_page, spec_params
from skreg_catalog.search.terms import field_names, stem, words
from skreg_catalog.skills.models import Skill, SkillTag
from skreg_catalog.visibility import ALL, Shape, Sight, visible_to

MAX_QUERY_TERMS = 8
COMPLETIONS = 3
"""Most frequent indexed terms a last, unfinished word expands to (search as you type)."""
FIRST_DEPTH = 64
MAX_DEPTH = 4096
EXACT_TOTAL_LIMIT = 256
"""Totals are exact when every query term is in at most this many skills, or the query
is one term (its count is the total); past it, estimated from the terms' counts
assuming they occur independently, and marked approximate (`Ranking.total_approximate`)."""
RESIDENT_FROM = EXACT_TOTAL_LIMIT
"""Multi-word queries with more postings than this are scored in memory (`search.resident`)."""
IDF_SCALE = 1000
COMMON_SHARE = 0.5
COMMON_FROM = 64


@dataclass(frozen=True)
class QueryTerms:
    """A query as groups of indexed terms: one per word; the last may hold completions."""

    groups: tuple[tuple[str, ...], ...]
    name: str  # the query as an exact name ("ns/name" or "name"), lowercase
    last_word: str  # the last word as typed (for prefix completion)

    @classmethod
    def parse(cls, query: str) -> QueryTerms:
        found = words(query)[: MAX_QUERY_TERMS * 2]
        stems: list[str] = []
        for word in found:
            term = stem(word)
            if term not in stems:
                stems.append(term)
        stems = stems[:MAX_QUERY_TERMS]
        return cls(
            groups=tuple((term,) for term in stems),
            name=query.strip().lower()[:200],
            last_word=found[-1] if found else "",
        )

    @property
    def terms(self) -> list[str]:
        return sorted({term for group in self.groups for term in group})

    @property
    def stem_prefixes(self) -> list[str]:
        """Shorter forms of the last, perhaps unfinished, word that may be the stem of
        the word being typed: "optimi" is on its way to "optimize", indexed as "optim",
        which no prefix range from "optimi" reaches (nor does "summari" reach "summar")."""
        word = self.last_word
        if len(word) < 4 or not self.groups:
            return []
        return [word[:n] for n in range(max(3, len(word) - 3), len(word))]

    def with_completions(self, completions: Sequence[str]) -> QueryTerms:
        if not self.groups or not completions:
            return self
        last = tuple(dict.fromkeys([*self.groups[-1], *completions]))
        return QueryTerms((*self.groups[:-1], last), self.name, self.last_word)


@dataclass(frozen=True)
class Candidate:
    """A ranked skill: exact-name flag, lexical score, and the fields its terms matched in."""

    skill_id: int
    exact: int
    score: int
    fields: tuple[str, ...]

    @property
    def key(self) -> tuple[int, int, int]:
        """Sort key (ascending = best first): exact, then score, then id for equal scores."""
        return (-self.exact, -self.score, self.skill_id)


@dataclass
class Ranking:
    """The best candidates after the cursor, in order, and the number of matches in all."""

    candidates: list[Candidate]
    total: int
    total_approximate: bool
    idfs: dict[str, int] = field(default_factory=dict)
    completions: tuple[str, ...] = ()
    unknown_words: bool = False  # a query word no skill holds (a typo?): suggest spellings


@dataclass(frozen=True)
class Position:
    """Where the previous page ended, with the IDFs and completions it ranked with (so a
    publish between pages cannot reorder the rows a client has not seen yet)."""

    exact: int
    score: int
    skill_id: int
    idfs: dict[str, int]
    completions: tuple[str, ...]

    def before(self, candidate: Candidate) -> bool:
        """True when `candidate` was on this page or an earlier one."""
        return candidate.key <= (-self.exact, -self.score, self.skill_id)


@dataclass(frozen=True)
class Filters:
    namespace: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class _Seen:
    """The caller's visibility as statement shape and bind parameters (None: sees all)."""

    shape: Shape | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    async def of(cls, reader: QuickReader, sight: Sight) -> _Seen:
        """Restricted only when something indexed is hidden from `sight`: in a catalogue
        of public skills an anonymous caller ranks (and gets totals) as everyone does."""
        kind = _hiding_kind(sight)
        if kind is None or await reader.first(_HIDING[kind], {}) is None:
            return cls.given(sight, ())
        return cls.given(sight, (kind,))

    @classmethod
    def given(cls, sight: Sight, existing: Container[int]) -> _Seen:
        """`of`, knowing which kinds of skill (PRIVATE, NOT_PUBLIC) exist."""
        if sight.everything and sight.namespaces is None:
            return _SEES_ALL
        kind = _hiding_kind(sight)
        if kind is not None and kind not in existing:
            return _SEES_ALL
        return cls(sight.shape, sight.params())


def _hiding_kind(sight: Sight) -> int | None:
    """For a caller who sees public skills: PRIVATE or NOT_PUBLIC, the kind of skill that
    would be hidden from it (None: a caller who sees everything, or only some namespaces'
    skills whatever exists)."""
    if not sight.public or (sight.everything and sight.namespaces is None):
        return None
    beyond = sight.namespaces is not None or not sight.internal
    return NOT_PUBLIC if beyond else PRIVATE


_SEES_ALL = _Seen()


async def sees_all(reader: QuickReader, sight: Sight) -> bool:
    """Whether nothing indexed is hidden from `sight` (then it ranks as everyone does)."""
    return (await _Seen.of(reader, sight)).shape is None


# --- statements (built once per dialect and shape) -----------------------------------------


def columns_of(*columns: Any) -> Select[Any]:
    """`select(*columns)`, typed for `QuickReader` (which takes any shape of row)."""
    return select(*columns)


def listed(dialect: str, column: Any, name: str, kind: Any) -> ColumnElement[bool]:
    """`column` is one of a list bound as `name` (a JSON array on SQLite, an array on PG)."""
    if dialect == "postgresql":
        any_of: ColumnElement[bool] = column == any_(bindparam(name, type_=ARRAY(kind)))
        return any_of
    values: Select[Any] = columns_of(literal_column("value")).select_from(
        func.json_each(bindparam(name, type_=String()))
    )
    in_list: ColumnElement[bool] = column.in_(values.scalar_subquery())
    return in_list


def list_param(dialect: str, values: Iterable[Any]) -> Any:
    """The bound value of a `listed` parameter."""
    values = list(values)
    # msgspec, not json.dumps: this runs for every statement of every search.
    return values if dialect == "postgresql" else to_json(values).decode()


# Is any skill hidden from a caller who sees public (and internal) skills?
_PRIVATE = columns_of(Skill.id).where(Skill.visibility == "private").limit(1)
_NOT_PUBLIC = (
    columns_of(Skill.id)
    .where(or_(Skill.visibility == "internal", Skill.visibility == "private"))
    .limit(1)
)


_VISIBLE = (
    select(func.coalesce(func.max(CatalogCounter.value), 0))
    .where(CatalogCounter.name == VISIBLE_SKILLS)
    .scalar_subquery()
)


_COMPLETIONS = (
    columns_of(SearchTerm.term, SearchTerm.documents, SearchTerm.changed)
    .where(
        SearchTerm.term >= bindparam("low", type_=String()),
        SearchTerm.term < bindparam("high", type_=String()),
        SearchTerm.documents > 0,
    )
    .order_by(SearchTerm.documents.desc(), SearchTerm.term)
    .limit(COMPLETIONS)
)
_EXACT_NAME = (
    Skill.name == bindparam("name", type_=String()),
    (bindparam("namespace", type_=String()) == "")
    | (Skill.namespace == bindparam("namespace", type_=String())),
    Skill.deleted_at.is_(None),
    Skill.latest_version_id.is_not(None),
)


def _seen_only(statement: Select[Any], seen: Shape | None) -> Select[Any]:
    """`statement` over postings, kept to the skills a caller of shape `seen` may see."""
    if seen is None:
        return statement
    return statement.join(Skill, Skill.id == SearchPosting.skill_id).where(visible_to(seen))


@lru_cache(maxsize=16)
def _best_postings(seen: Shape | None) -> Select[Any]:
    """A term's postings, best first, `depth` of them (of the skills the caller sees)."""
    statement = columns_of(SearchPosting.skill_id, SearchPosting.weight, SearchPosting.fields)
    return (
        _seen_only(statement, seen)
        .where(SearchPosting.term == bindparam("term", type_=String()))
        .order_by(SearchPosting.weight.desc(), SearchPosting.skill_id)
        .limit(bindparam("depth", type_=Integer()))
    )


@lru_cache(maxsize=16)
def _exact(seen: Shape | None) -> Select[Any]:
    statement = columns_of(Skill.id).where(*_EXACT_NAME)
    return statement if seen is None else statement.where(visible_to(seen))


@lru_cache(maxsize=16)
def _seen_matches(dialect: str, seen: Shape) -> Select[Any]:
    """How many skills the caller sees hold any of the terms (its exact total)."""
    statement = columns_of(func.count(func.distinct(SearchPosting.skill_id)).label("total"))
    return _seen_only(statement.select_from(SearchPosting), seen).where(
        listed(dialect, SearchPosting.term, "terms", String())
    )


TERM_COUNT, COMPLETION, EXACT_NAME, VISIBLE, PRIVATE, NOT_PUBLIC = range(6)
_HIDING = {PRIVATE: _PRIVATE, NOT_PUBLIC: _NOT_PUBLIC}


@lru_cache(maxsize=16)
def _lookups(dialect: str) -> Select[Any]:
    """Everything a ranking needs before it reads postings, in one statement (four
    look-ups were four round trips, a fifth of an uncached search's statements): rows
    of `kind` TERM_COUNT (a query term, its skill count and change token), COMPLETION
    (a completion of the last word, its count and token), EXACT_NAME (`documents` is
    the id of the skill the query names exactly), VISIBLE (`documents` is the number
    of visible skills), PRIVATE and NOT_PUBLIC (there when some skill is private, or
    not public: whether a caller ranks as everyone does, `_Seen.given`)."""
    none = literal("", String()).label("term")
    unchanged = literal(0, BigInteger()).label("changed")

    def kind(value: int) -> Any:
        return literal(value, Integer()).label("kind")

    counted = columns_of(
        SearchTerm.term, SearchTerm.documents, kind(TERM_COUNT), SearchTerm.changed
    ).where(listed(dialect, SearchTerm.term, "terms", String()))
    completing = _COMPLETIONS.subquery()
    completions = columns_of(
        completing.c.term, completing.c.documents, kind(COMPLETION), completing.c.changed
    )
    exact = columns_of(none, Skill.id.label("documents"), kind(EXACT_NAME), unchanged).where(
        *_EXACT_NAME
    )
    visible = columns_of(none, _VISIBLE.label("documents"), kind(VISIBLE), unchanged)
    hidden = []
    for flag, statement in _HIDING.items():
        found = statement.subquery()  # LIMIT 1: a member of a union takes it as a subquery
        hidden.append(columns_of(none, found.c.id.label("documents"), kind(flag), unchanged))
    return cast("Select[Any]", union_all(counted, completions, exact, visible, *hidden))


@lru_cache(maxsize=16)
def _candidate_postings(dialect: str) -> Select[Any]:
    """Every posting of the query's terms in the given skills (random access)."""
    p = SearchPosting
    return columns_of(p.skill_id, p.term, p.weight, p.fields).where(
        listed(dialect, p.term, "terms", String()),
        listed(dialect, p.skill_id, "ids", Integer()),
    )


@lru_cache(maxsize=64)
def _all_postings(dialect: str, namespace: bool, tag: bool, seen: Shape | None) -> Select[Any]:
    """Every posting of the query's terms, optionally within a namespace or tag, of the
    skills the caller sees (full scan)."""
    p = SearchPosting
    statement = columns_of(p.skill_id, p.term, p.weight, p.fields).where(
        listed(dialect, p.term, "terms", String())
    )
    if namespace or seen is not None:
        statement = statement.join(Skill, Skill.id == p.skill_id)
    if seen is not None:
        statement = statement.where(visible_to(seen))
    if namespace:
        statement = statement.where(Skill.namespace == bindparam("namespace", type_=String()))
    if tag:
        tagged = select(SkillTag.skill_id).where(SkillTag.tag == bindparam("tag", type_=String()))
        statement = statement.where(p.skill_id.in_(tagged.scalar_subquery()))
    return statement


# --- ranking --------------------------------------------------------------------------------


def idf(documents: int, visible: int) -> int:
    """BM25's IDF as a positive integer (at least 1, so every term still counts a little)."""
    n = max(visible, documents)
    value = math.log(1 + (n - documents + 0.5) / (documents + 0.5))
    return max(1, round(value * IDF_SCALE))


def _without_common(
    idfs: Mapping[str, int], documents: Mapping[str, int], visible: int
) -> dict[str, int]:
    """The IDFs of the terms that rank: a word most skills hold (over `COMMON_SHARE` of a
    catalogue of at least `COMMON_FROM` skills) counts only when the query has nothing
    rarer, and then only the rarest such word. Its IDF is near zero anyway; reading its
    postings best-first would cost the whole catalogue for no change in order."""
    if visible < COMMON_FROM:
        return dict(idfs)
    rare = {t: v for t, v in idfs.items() if documents.get(t, 0) <= visible * COMMON_SHARE}
    if rare or not idfs:
        return rare
    rarest = min(idfs, key=lambda t: (documents.get(t, 0), t))
    return {rarest: idfs[rarest]}


class _Scorer:
    def __init__(self, query: QueryTerms, idfs: Mapping[str, int]) -> None:
        self.groups = [tuple(t for t in group if t in idfs) for group in query.groups]
        self.group_idf = [max((idfs[t] for t in group), default=0) for group in self.groups]
        self.idfs = idfs
        self.total_idf = sum(self.group_idf) or 1

    def score(self, weights: Mapping[str, int]) -> int:
        """Σ best idf·weight per group, times (1 + IDF share of the groups held), times the
        query's IDF sum (constant for a query: kept so scores are exact integers, strictly
        increasing in every weight)."""
        base = 0
        held = 0
        for group, group_idf in zip(self.groups, self.group_idf, strict=True):
            best = max((self.idfs[t] * weights[t] for t in group if t in weights), default=0)
            if best:
                base += best
                held += group_idf
        return base * (self.total_idf + held)

    def bound(self, last: Mapping[str, int | None]) -> int:
        """The most a skill not read yet can score: `last` is each term's last weight read
        (None: the term's postings were read to the end)."""
        base = 0
        held = 0
        for group, group_idf in zip(self.groups, self.group_idf, strict=True):
            best = max((self.idfs[t] * (last[t] or 0) for t in group), default=0)
            if best:
                base += best
                held += group_idf
        return base * (self.total_idf + held)


async def rank_lexical(
    reader: QuickReader,
    query: QueryTerms,
    *,
    size: int,
    after: Position | None = None,
    filters: Filters = Filters(),
    ranked_as: Position | None = None,
    sight: Sight = ALL,
) -> Ranking:
    """The best `size` candidates after `after` (and whether more follow: ask size+1),
    of the skills `sight` may see.

    Later pages score with the IDFs and completions of page one (`after`'s); `ranked_as`
    does the same without skipping anything (a hybrid page re-ranks the lexical top)."""
    dialect = reader.dialect_name
    basis = after or ranked_as
    looked_up = await reader.all(_lookups(dialect), _lookup_params(dialect, query, basis, filters))
    documents: dict[str, int] = {}
    tokens: dict[str, int] = {}
    found: list[tuple[int, str]] = []
    exact_ids: set[int] = set()
    visible = 0
    kinds = set()
    for row in looked_up:
        kind, count = row["kind"], int(row["documents"])
        kinds.add(kind)
        if kind == TERM_COUNT and count > 0:
            documents[row["term"]] = count
            tokens[row["term"]] = int(row["changed"])
        elif kind == COMPLETION:
            found.append((-count, row["term"]))
            tokens[row["term"]] = int(row["changed"])
        elif kind == EXACT_NAME:
            exact_ids.add(count)
        elif kind == VISIBLE:
            visible = count
    if basis is not None:
        completions = basis.completions
    else:  # the stem being typed, then the most common, as `complete` orders them
        stemmed = _typed_stem(query, documents)
        for term in query.stem_prefixes:  # looked up only to find `stemmed`
            if term not in stemmed and term not in query.terms:
                documents.pop(term, None)
        completions = tuple(
            dict.fromkeys(
                t for t in (*stemmed, *(t for _, t in sorted(found))) if t not in query.groups[-1]
            )
        )
        documents.update((t, -negated) for negated, t in found)
    query = query.with_completions(completions)
    if basis is not None:
        idfs = dict(basis.idfs)
    else:
        idfs = {term: idf(count, visible) for term, count in documents.items()}
    scorer = _Scorer(query, _without_common(idfs, documents, visible))
    seen = _Seen.given(sight, kinds)
    if seen.shape is not None:  # the look-up's exact name counts every skill: not here
        exact_ids = await _exact_ids(reader, query, filters, seen)
    terms = [t for t in query.terms if t in scorer.idfs]
    unknown = any(not any(t in documents for t in group) for group in query.groups)
    if (
        seen.shape is None
        and not (filters.namespace or filters.tag)
        and _resident_pays(terms, documents)
    ):
        resident = resident_for(reader)
        lists = await resident.lists(reader, {t: tokens.get(t) for t in terms}, documents)
        if lists is not None:
            ranking = rank_resident(lists, scorer, exact_ids, size, after)
            ranking.idfs, ranking.completions, ranking.unknown_words = idfs, completions, unknown
            return ranking
    ranking = await _rank_terms(
        reader, terms, scorer, documents, visible, size, after, filters, exact_ids, seen
    )
    ranking.idfs, ranking.completions, ranking.unknown_words = idfs, completions, unknown
    return ranking


def _typed_stem(query: QueryTerms, indexed: Container[str]) -> tuple[str, ...]:
    """The longest of the last word's `stem_prefixes` that is `indexed`, when the word
    itself is not."""
    if not query.groups or any(t in indexed for t in query.groups[-1]):
        return ()
    held = [t for t in query.stem_prefixes if t in indexed and t not in query.terms]
    return tuple(held[-1:])


def _resident_pays(terms: list[str], documents: Mapping[str, int]) -> bool:
    """Whether to score in memory (`search.resident`): several terms with more than
    `RESIDENT_FROM` postings in all. One term is read best-first from its index, which
    stops at the page; a few postings cost SQL little and are not worth keeping."""
    return len(terms) > 1 and sum(documents.get(t, 0) for t in terms) > RESIDENT_FROM


def _lookup_params(
    dialect: str, query: QueryTerms, after: Position | None, filters: Filters
) -> dict[str, Any]:
    """`_lookups`' parameters: the query's terms (with the cursor's completions when
    paging on), the last word's range when it is to be completed (else an empty one),
    and the exact name (an empty name matches no skill)."""
    terms = query.terms if after is None else query.with_completions(after.completions).terms
    low = high = ""
    if after is None and len(query.last_word) >= 2 and query.groups:
        low, high = query.last_word, query.last_word + "\U0010ffff"
        terms = sorted({*terms, *query.stem_prefixes})
    namespace, _, name = query.name.rpartition("/")
    if filters.namespace and namespace and namespace != filters.namespace:
        name = ""
    return {
        "terms": list_param(dialect, terms),
        "low": low,
        "high": high,
        "name": name,
        "namespace": namespace or filters.namespace or "",
    }


async def _rank_terms(
    reader: QuickReader,
    terms: list[str],
    scorer: _Scorer,
    documents: Mapping[str, int],
    visible: int,
    size: int,
    after: Position | None,
    filters: Filters,
    exact_ids: set[int],
    seen: _Seen = _SEES_ALL,
) -> Ranking:
    if not terms:  # an exact name's words are always indexed: nothing can match
        return Ranking([], 0, False)
    if filters.namespace or filters.tag:
        # Filtered: score the filtered matches in full (bounded by the filter, not the
        # catalogue; an unselective filter over a broad query is the slow case).
        filtered = await _all_weights(reader, terms, filters, seen)
        ranked = _rank(filtered, scorer, exact_ids, after)
        return Ranking(ranked[:size], _count(filtered, exact_ids), False)
    postings_in_all = sum(documents.get(t, 0) for t in terms)
    # The SQL scorer reads the whole catalogue's postings: only for who sees it all.
    if seen.shape is None and len(terms) > 1 and postings_in_all <= SQL_SCORING_LIMIT:
        return await _scored_in_sql(reader, scorer, exact_ids, size, after)
    single = all(len(group) <= 1 for group in scorer.groups)
    depth = FIRST_DEPTH
    if len(terms) == 1 and single:
        # One term: its list is in score order (ties by id), so the page is certain after
        # one row more than it holds, and the total is the term's count (or counted for
        # a restricted caller) however deep the read. 64 rows made into candidates were
        # a sixth of a one-word search's CPU at 10k skills (py-spy).
        depth = size + 1
    elif max((documents.get(t, 0) for t in terms), default=0) <= EXACT_TOTAL_LIMIT:
        depth = EXACT_TOTAL_LIMIT  # small lists: read them whole, the total is exact
    while True:
        last: dict[str, int | None] = {}
        last_id = 0
        weights: Weights = {skill_id: {} for skill_id in exact_ids}
        for term in terms:
            rows = await reader.all(
                _best_postings(seen.shape), {**seen.params, "term": term, "depth": depth}
            )
            for row in rows:
                weights.setdefault(row["skill_id"], {})[term] = (row["weight"], row["fields"])
            last[term] = rows[-1]["weight"] if len(rows) == depth else None
            if len(rows) == depth:
                last_id = max(last_id, rows[-1]["skill_id"])
        # Random access only where a term's list was not read to the end (elsewhere,
        # not being in the list means not holding the term).
        open_terms = [t for t in terms if last[t] is not None]
        missing = {i for i, held in weights.items() if any(t not in held for t in open_terms)}
        for skill_id, held in (await _weights_of(reader, open_terms, missing)).items():
            weights[skill_id].update(held)
        ranked = _rank(weights, scorer, exact_ids, after)
        bound = scorer.bound(last)
        exhausted = not open_terms
        certain = exhausted
        if not certain and len(ranked) >= size:
            kth = ranked[size - 1]
            # A skill not read yet scores at most `bound`; scoring exactly that, it holds
            # each term at the last weight read and sorts after it in every list (lists
            # are in weight, then id order), so after `last_id`: behind `kth` if
            # `kth.skill_id` is smaller.
            certain = kth.score > bound or (
                single and kth.score == bound and kth.skill_id < last_id
            )
        if certain:
            if exhausted:
                total, approximate = _count(weights, exact_ids), False
            elif seen.shape is not None:  # the terms' counts include what it may not see
                total, approximate = await _seen_total(reader, terms, exact_ids, seen), False
            elif len(terms) == 1:  # every posting is a match
                total, approximate = documents.get(terms[0], 0), False
            else:
                estimate = _estimate(documents, scorer, visible)
                total, approximate = max(estimate, _count(weights, exact_ids)), True
            return Ranking(ranked[:size], total, approximate)
        if depth >= MAX_DEPTH:
            break
        depth *= 4
    weights = await _all_weights(reader, terms, filters, seen)
    ranked = _rank(weights, scorer, exact_ids, after)
    return Ranking(ranked[:size], _count(weights, exact_ids), False)


async def _seen_total(
    reader: QuickReader, terms: list[str], exact_ids: set[int], seen: _Seen
) -> int:
    """The matches a restricted caller sees (an exact name holds its words, so it is in)."""
    assert seen.shape is not None
    dialect = reader.dialect_name
    row = await reader.first(
        _seen_matches(dialect, seen.shape), {**seen.params, "terms": list_param(dialect, terms)}
    )
    return max(0 if row is None else int(row["total"]), len(exact_ids))


async def _scored_in_sql(
    reader: QuickReader, scorer: _Scorer, exact_ids: set[int], size: int, after: Position | None
) -> Ranking:
    """Exact ranking and total computed by the database (`search.scoring`)."""
    dialect = reader.dialect_name
    params: dict[str, Any] = spec_params(dialect, scorer.groups, scorer.idfs)
    params.update(
        exact=list_param(dialect, sorted(exact_ids)),
        total_idf=scorer.total_idf,
        after=int(after is not None),
        c_exact=after.exact if after else 0,
        c_score=after.score if after else 0,
        c_id=after.skill_id if after else 0,
        limit=size,
    )
    statement = scored_page(dialect, all(len(group) <= 1 for group in scorer.groups))
    rows = await reader.all(statement, params)
    if not rows:
        if after is None:
            return Ranking([], 0, False)
        counted = await reader.all(statement, {**params, "after": 0, "limit": 1})
        return Ranking([], int(counted[0]["total"]) if counted else 0, False)
    candidates = [
        Candidate(row["skill_id"], int(row["exact"]), int(row["score"]), field_names(row["fields"]))
        for row in rows
    ]
    return Ranking(candidates, int(rows[0]["total"]), False)


Weights = dict[int, dict[str, tuple[int, int]]]
"""skill id -> term -> (weight, fields)."""


async def _weights_of(reader: QuickReader, terms: list[str], ids: set[int]) -> Weights:
    if not ids:
        return {}
    dialect = reader.dialect_name
    rows = await reader.all(
        _candidate_postings(dialect),
        {"terms": list_param(dialect, terms), "ids": list_param(dialect, sorted(ids))},
    )
    return _collect(rows, ids)


async def _all_weights(
    reader: QuickReader, terms: list[str], filters: Filters, seen: _Seen = _SEES_ALL
) -> Weights:
    dialect = reader.dialect_name
    params: dict[str, Any] = {**seen.params, "terms": list_param(dialect, terms)}
    if filters.namespace:
        params["namespace"] = filters.namespace
    if filters.tag:
        params["tag"] = filters.tag
    statement = _all_postings(dialect, bool(filters.namespace), bool(filters.tag), seen.shape)
    return _collect(await reader.all(statement, params), set())


def _collect(rows: Iterable[Mapping[str, Any]], ids: set[int]) -> Weights:
    weights: Weights = {skill_id: {} for skill_id in ids}
    for row in rows:
        weights.setdefault(row["skill_id"], {})[row["term"]] = (row["weight"], row["fields"])
    return weights


async def _exact_ids(
    reader: QuickReader, query: QueryTerms, filters: Filters, seen: _Seen = _SEES_ALL
) -> set[int]:
    namespace, _, name = query.name.rpartition("/")
    if not name or (filters.namespace and namespace and namespace != filters.namespace):
        return set()
    # Filters apply through `weights`: only skills in them are ranked at all.
    rows = await reader.all(
        _exact(seen.shape),
        {**seen.params, "name": name, "namespace": namespace or filters.namespace or ""},
    )
    return {int(row["id"]) for row in rows}


def _rank(
    weights: Weights,
    scorer: _Scorer,
    exact_ids: set[int],
    after: Position | None,
) -> list[Candidate]:
    ranked = []
    for skill_id, held in weights.items():
        exact = int(skill_id in exact_ids)
        if not held and not exact:
            continue
        bits = 0
        for _, fields in held.values():
            bits |= fields
        candidate = Candidate(
            skill_id=skill_id,
            exact=exact,
            score=scorer.score({t: w for t, (w, _) in held.items()}),
            fields=field_names(bits),
        )
        if after is None or not after.before(candidate):
            ranked.append(candidate)
    ranked.sort(key=lambda c: c.key)
    return ranked


def _count(weights: Weights, exact_ids: set[int]) -> int:
    return sum(1 for skill_id, held in weights.items() if held or skill_id in exact_ids)


def _estimate(documents: Mapping[str, int], scorer: _Scorer, visible: int) -> int:
    """Skills holding any group's term if terms were independent: N * (1 - prod(1 - p))."""
    n = max(visible, 1)
    missing = 1.0
    for group in scorer.groups:
        held = min(n, sum(documents.get(t, 0) for t in group))
        missing *= 1 - held / n
    return max(round(n * (1 - missing)), max(documents.values(), default=0))


async def complete(reader: QuickReader, query: QueryTerms) -> tuple[str, ...]:
    """The stem the last word may be on its way to, and the most common indexed terms it
    may be the start of (as `rank_lexical` completes it)."""
    prefix = query.last_word
    if len(prefix) < 2 or not query.groups:
        return ()
    rows = await reader.all(_COMPLETIONS, {"low": prefix, "high": prefix + "\U0010ffff"})
    stemmed: tuple[str, ...] = ()
    if query.stem_prefixes:
        dialect = reader.dialect_name
        looked_up = [*query.stem_prefixes, *query.groups[-1]]
        held = await reader.all(held_terms(dialect), {"terms": list_param(dialect, looked_up)})
        stemmed = _typed_stem(query, {row["term"] for row in held})
    found = (*stemmed, *(row["term"] for row in rows))
    return tuple(dict.fromkeys(t for t in found if t not in query.groups[-1]))


@lru_cache(maxsize=4)
def held_terms(dialect: str) -> Select[Any]:
    """Which of the terms bound as `terms` some skill holds."""
    return columns_of(SearchTerm.term).where(
        listed(dialect, SearchTerm.term, "terms", String()), SearchTerm.documents > 0
    )


def fuse(
    lexical: Sequence[Candidate], other: Sequence[int], *, k: int = 60, weight: float = 1.0
) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of the lexical ranking with another ranked list of skill ids
    (e.g. semantic nearest neighbours): exact names stay first, then by fused score."""
    fused: dict[int, float] = {}
    exact = {c.skill_id for c in lexical if c.exact}
    for rank, candidate in enumerate(lexical):
        fused[candidate.skill_id] = fused.get(candidate.skill_id, 0.0) + 1 / (k + rank + 1)
    for rank, skill_id in enumerate(other):
        fused[skill_id] = fused.get(skill_id, 0.0) + weight / (k + rank + 1)
    return sorted(fused.items(), key=lambda kv: (kv[0] not in exact, -kv[1], kv[0]))
