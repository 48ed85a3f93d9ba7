"""Postings kept in memory per process: a multi-word query scored with numpy, not SQL.

Profiled (`bench/bench_search.py`, SQLite, read cache off, distinct two- and
three-word queries): catalog CPU per search grew from 1.3 ms at 1k skills to 9.9 ms at
100k, all of it in the SQL scorer (`search.scoring`), which joins and groups every
posting of the query's terms (10,000+ at 100k for a domain and an action). The
threshold algorithm cannot stop early there: thousands of skills tie at the top
weights of each term, and the few holding both terms sit anywhere in either list.

Here a process keeps the postings of the terms queries use as numpy arrays (skill
ids ascending, weights, field bits; 17 bytes a posting) and scores a query's
matches in a few vector operations: ~0.3 ms for 15,000 postings, where SQL took 8.
The ranking is the same integer score `lexical._Scorer` computes and `search.scoring`
sums, in the same order (exact name, score, id), so pages, cursors and totals are
identical on every path (tests/catalog/test_search_ranking.py compares them).

Consistency across processes and restarts: every write of a term's postings gives
the term a new random `changed` token in the same transaction (`search.index`), and
the look-up every search already makes returns each query term's token; a copy
whose token differs is read again (token first, postings after, so a copy is never
labelled newer than what it holds). So a publish, yank or delete on any replica is
seen by the next search on every process, as with SQL. A copy is also dropped
after `MAX_AGE` seconds, whatever its token, which bounds staleness from writers that
do not set tokens (replicas of an older release during a rolling upgrade).

Bounded: at most `capacity` postings in all (`SEARCH_RESIDENT_POSTINGS`), least
recently used terms dropped first; a term larger than that is scored in SQL. Only
callers who see every skill, without filters, use it (as the SQL scorer).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from skreg_common.quickread import QuickReader
from sqlalchemy import Select, String, Text, bindparam, column, text

from skreg_catalog.search.terms import field_names

if TYPE_CHECKING:
    from skreg_catalog.search.lexical import Candidate, Position, Ranking, _Scorer

DEFAULT_CAPACITY = 4_000_000
MAX_AGE = 60.0


@dataclass(frozen=True)
class TermPostings:
    """One term's postings, by skill id ascending."""

    token: int
    loaded: float  # time.monotonic() when read
    ids: np.ndarray[Any, np.dtype[np.int64]]
    weights: np.ndarray[Any, np.dtype[np.int64]]
    fields: np.ndarray[Any, np.dtype[np.int8]]

    def __len__(self) -> int:
        return len(self.ids)


# A term's postings as one string of numbers (id weight fields ...): a row per posting
# made into a dict cost ~9 ms per 10,000 postings, and a term of 50,000 at 100k skills is
# read again after every write that touches it; aggregated in the database and parsed by
# numpy it costs ~4 ms. (term, skill_id) is the primary key: one range read.
_SQLITE_PACKED = """
    SELECT group_concat(skill_id || ' ' || weight || ' ' || fields, ' ') AS packed
    FROM (SELECT skill_id, weight, fields FROM catalog_search_postings
          WHERE term = :term ORDER BY skill_id)
"""
_POSTGRES_PACKED = """
    SELECT string_agg(skill_id || ' ' || weight || ' ' || fields, ' ' ORDER BY skill_id)
           AS packed
    FROM catalog_search_postings WHERE term = :term
"""


@lru_cache(maxsize=2)
def _term_postings(dialect: str) -> Select[Any]:
    sql = _POSTGRES_PACKED if dialect == "postgresql" else _SQLITE_PACKED
    statement = text(sql).bindparams(bindparam("term", type_=String()))
    return cast("Select[Any]", statement.columns(column("packed", Text())))


def _unpacked(packed: str | None) -> np.ndarray[Any, np.dtype[np.int64]]:
    """(id, weight, fields) rows by id ascending, from `_term_postings`' string."""
    if not packed:
        return np.zeros((0, 3), np.int64)
    rows = np.fromstring(packed, dtype=np.int64, sep=" ").reshape(-1, 3)
    if len(rows) > 1 and not bool(np.all(rows[1:, 0] > rows[:-1, 0])):
        rows = rows[np.argsort(rows[:, 0], kind="stable")]  # group_concat's order is SQLite's
    return rows


class ResidentPostings:
    """The postings of recently queried terms (one per quick reader, so per process)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._terms: OrderedDict[str, TermPostings] = OrderedDict()
        self._size = 0
        self._loading: dict[tuple[str, int], asyncio.Task[TermPostings]] = {}

    @property
    def size(self) -> int:
        """Postings held in all."""
        return self._size

    def __contains__(self, term: str) -> bool:
        return term in self._terms

    def resize(self, capacity: int) -> None:
        """Keep at most `capacity` postings from now on (0: none)."""
        self.capacity = capacity
        self._evict()

    async def lists(
        self,
        reader: QuickReader,
        tokens: Mapping[str, int | None],
        documents: Mapping[str, int],
    ) -> dict[str, TermPostings] | None:
        """Current postings of every term in `tokens` (term -> its committed token; None:
        no skill holds it now), or None when they would not fit (the caller scores in SQL)."""
        if sum(documents.get(t, 0) for t in tokens) > self.capacity:
            return None
        found: dict[str, TermPostings] = {}
        now = time.monotonic()
        for term, token in tokens.items():
            if token is None:
                found[term] = _NOTHING
                continue
            held = self._terms.get(term)
            if held is not None and held.token == token and now - held.loaded < MAX_AGE:
                self._terms.move_to_end(term)
                found[term] = held
            else:
                found[term] = await self._load(reader, term, token)
        return found

    async def _load(self, reader: QuickReader, term: str, token: int) -> TermPostings:
        # Concurrent searches for a term that is not held yet wait for one read.
        key = (term, token)
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._read(reader, term, token))
            self._loading[key] = task
            task.add_done_callback(lambda done: self._loaded(key, done))
        return await asyncio.shield(task)

    def _loaded(self, key: tuple[str, int], task: asyncio.Task[TermPostings]) -> None:
        self._loading.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return  # the searches that waited for it got the error
        self._keep(key[0], task.result())

    async def _read(self, reader: QuickReader, term: str, token: int) -> TermPostings:
        loaded = time.monotonic()
        row = await reader.first(_term_postings(reader.dialect_name), {"term": term})
        rows = _unpacked(None if row is None else row["packed"])
        return TermPostings(
            token=token,
            loaded=loaded,
            ids=np.ascontiguousarray(rows[:, 0]),
            weights=np.ascontiguousarray(rows[:, 1]),
            fields=rows[:, 2].astype(np.int8),
        )

    def _keep(self, term: str, postings: TermPostings) -> None:
        if len(postings) > self.capacity:
            return
        old = self._terms.pop(term, None)
        if old is not None:
            self._size -= len(old)
        self._terms[term] = postings
        self._size += len(postings)
        self._evict()

    def _evict(self) -> None:
        while self._terms and self._size > self.capacity:
            _, dropped = self._terms.popitem(last=False)
            self._size -= len(dropped)


_NOTHING = TermPostings(
    token=0,
    loaded=0.0,
    ids=np.zeros(0, np.int64),
    weights=np.zeros(0, np.int64),
    fields=np.zeros(0, np.int8),
)

_BY_READER: weakref.WeakKeyDictionary[QuickReader, ResidentPostings] = weakref.WeakKeyDictionary()


def resident_for(reader: QuickReader) -> ResidentPostings:
    """The resident postings of `reader`'s database in this process."""
    resident = _BY_READER.get(reader)
    if resident is None:
        resident = _BY_READER[reader] = ResidentPostings()
    return resident


def configure(reader: QuickReader, capacity: int) -> None:
    """Set how many postings `reader`'s process keeps (0: none; every query in SQL)."""
    resident_for(reader).resize(capacity)


def rank_resident(
    lists: Mapping[str, TermPostings],
    scorer: _Scorer,
    exact_ids: set[int],
    size: int,
    after: Position | None,
) -> Ranking:
    """The best `size` matches after `after`, scored as `_Scorer.score` does, and the
    number of matches in all (exact: every posting is here)."""
    from skreg_catalog.search.lexical import Candidate, Ranking

    terms = sorted(lists)
    exact_array = np.array(sorted(exact_ids), dtype=np.int64)
    ids, positions = _matched([lists[t].ids for t in terms], exact_array)
    positions_of = dict(zip(terms, positions, strict=True))
    count = len(ids)
    base = np.zeros(count, np.int64)
    held = np.zeros(count, np.int64)
    bits = np.zeros(count, np.int64)
    for group, group_idf in zip(scorer.groups, scorer.group_idf, strict=True):
        if len(group) == 1:  # one term: a skill holds it at most once (ids are unique)
            at = positions_of[group[0]]
            base[at] += lists[group[0]].weights * scorer.idfs[group[0]]
            held[at] += group_idf
            bits[at] |= lists[group[0]].fields
            continue
        best = np.zeros(count, np.int64)
        for term in group:
            at = positions_of[term]
            best[at] = np.maximum(best[at], lists[term].weights * scorer.idfs[term])
            bits[at] |= lists[term].fields
        base += best
        held += np.where(best > 0, group_idf, 0)
    scores = base * (scorer.total_idf + held)
    exact = np.isin(ids, exact_array) if exact_ids else np.zeros(count, bool)
    if after is None and not exact_ids:
        chosen = _best(None, scores, ids, size)
    else:
        keep = np.ones(count, bool)
        if after is not None:
            keep = (exact < after.exact) | (
                (exact == after.exact)
                & ((scores < after.score) | ((scores == after.score) & (ids > after.skill_id)))
            )
        chosen = _best(np.flatnonzero(keep & exact), scores, ids, size)
        chosen += _best(np.flatnonzero(keep & ~exact), scores, ids, size - len(chosen))
    picked = np.array(chosen, dtype=np.intp)
    candidates: list[Candidate] = [
        Candidate(skill_id, int(is_exact), score, field_names(field_bits))
        for skill_id, is_exact, score, field_bits in zip(
            ids[picked].tolist(),
            exact[picked].tolist(),
            scores[picked].tolist(),
            bits[picked].tolist(),
            strict=True,
        )
    ]
    return Ranking(candidates, count, False)


DENSE_SPAN = 16
"""Matched ids are gathered in an array as long as the largest id while that is at most
this many times the number of postings; past it, by sorting the postings."""


def _matched(
    postings: list[np.ndarray[Any, Any]], exact: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], list[np.ndarray[Any, Any]]]:
    """Every id in `postings` (each ascending) or `exact`, ascending, and for each posting
    list where its ids are in that array.

    Sorting every posting (`np.unique`) was a third of in-memory scoring at 10k skills
    (py-spy); marking ids in an array indexed by id is linear, and cheaper while the
    postings are not much sparser than the ids."""
    total = sum(len(p) for p in postings) + len(exact)
    top = max([int(p[-1]) for p in postings if len(p)] + [int(exact[-1]) if len(exact) else 0])
    if top >= DENSE_SPAN * max(total, 1):
        ids, inverse = np.unique(np.concatenate([*postings, exact]), return_inverse=True)
        bounds = np.cumsum([0] + [len(p) for p in postings])
        return ids, [inverse[a:b] for a, b in itertools.pairwise(bounds)]
    present = np.zeros(top + 1, bool)
    for posting in postings:
        present[posting] = True
    present[exact] = True
    ids = np.flatnonzero(present)
    slot = np.empty(top + 1, np.int64)
    slot[ids] = np.arange(len(ids))
    return ids, [slot[posting] for posting in postings]


BLOCK = 64
"""Scores per block whose maximum stands for the block when bounding the best (`_floor_of_best`)."""


def _floor_of_best(scores: np.ndarray[Any, Any], n: int) -> Any:
    """A score no higher than the `n`-th largest of `scores` (None: not worth finding).

    The n-th largest of the blocks' maxima is one: n different scores reach it. Cutting
    to the scores at or above it before `np.partition` keeps a few dozen of a broad
    query's matches instead of all: at 100k skills `np.partition` over every match was
    a quarter of a search's CPU (py-spy), and this cut made it ~100 µs instead of
    ~600-800 µs for 100k scores (~10 instead of ~35 µs for 5k)."""
    blocks = len(scores) // BLOCK
    if blocks <= n:
        return None
    maxima = scores[: blocks * BLOCK].reshape(blocks, BLOCK).max(axis=1)
    return np.partition(maxima, blocks - n)[blocks - n]


def _best(
    where: np.ndarray[Any, Any] | None,
    scores: np.ndarray[Any, Any],
    ids: np.ndarray[Any, Any],
    n: int,
) -> list[int]:
    """The `n` best of positions `where` (ascending, so ascending ids; None: all of them):
    score descending, then id ascending."""
    if where is None:
        where = np.arange(len(scores))
        picked = scores
    else:
        picked = scores[where]
    if n <= 0 or not len(where):
        return []
    if len(where) > n:
        floor = _floor_of_best(picked, n)
        if floor is not None:  # only what may be among the n best (order kept)
            within = np.flatnonzero(picked >= floor)
            where, picked = where[within], picked[within]
        kth = np.partition(picked, len(where) - n)[len(where) - n]  # the n-th largest
        above = where[picked > kth]
        ties = where[picked == kth][: n - len(above)]  # the smallest ids among the ties
    else:
        above, ties = where, where[:0]
    ordered = above[np.lexsort((ids[above], -scores[above]))]
    return [int(i) for i in np.concatenate([ordered, ties])]
