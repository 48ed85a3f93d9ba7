""" "Did you mean": known words of names and tags close to a query's unknown words.

Trigram similarity over `catalog_search_word_grams` (the same tables and SQL on
SQLite and PostgreSQL, so no `pg_trgm` is needed): for each query word no skill
holds, the words sharing most of its trigrams, ranked by Jaccard similarity and then
by how many skills hold them. Bounded: at most `MAX_WORDS` words are looked up, each
reading at most `PER_GRAM` words of each of at most `MAX_GRAMS` of its trigrams.

Why the per-gram bound: the words include every skill name, so at 100k skills a
trigram such as "  o" or "opt" is in thousands of words, and grouping them all took
20-70 ms per unknown word (bench_search, py-spy): a query of four made-up words cost
a quarter of a second. Rare trigrams, which are what tell words apart, are read in
full; a common one contributes its first `PER_GRAM` words.

The word tables hold every indexed skill's words. For a caller who may not see
everything (`skreg_catalog.visibility`) a word counts as known, and may be
suggested, only when a skill it may see holds it: a suggestion never spells out a
hidden skill's name or tags.

Each process keeps the close words of the words it was asked about for
`CLOSE_SECONDS` (`_remembered`): the trigram look-up was half of a hybrid search's
CPU at 10k skills when a query found little (py-spy), and people and agents misspell
the same words again and again. What is remembered is only where to look: every
suggestion is checked against the terms skills hold now (`_known`), for every
caller, so a word whose skills were deleted or hidden is never suggested; a word
published meanwhile may wait up to `CLOSE_SECONDS` to be suggested.
"""

from __future__ import annotations

import weakref
from functools import lru_cache
from typing import Any

from cachetools import TTLCache
from skreg_common.quickread import QuickReader
from sqlalchemy import Select, String, bindparam, func, select, union_all

from skreg_catalog.search.lexical import columns_of, held_terms, list_param, listed, sees_all
from skreg_catalog.search.models import SearchPosting, SearchTerm, SearchWord, SearchWordGram
from skreg_catalog.search.terms import stem, trigrams, words
from skreg_catalog.skills.models import Skill
from skreg_catalog.visibility import ALL, Shape, Sight, visible_to

SUGGEST_BELOW = 3
"""A first page with fewer matches than this gets suggestions."""
MAX_WORDS = 4
MIN_SIMILARITY = 0.3
CANDIDATES = 16
PER_GRAM = 1000
MAX_GRAMS = 24
CLOSE_WORDS_KEPT = 4096
CLOSE_SECONDS = 30.0


@lru_cache(maxsize=MAX_GRAMS)
def _close_words(grams: int) -> Select[Any]:
    """The words sharing most of `grams` trigrams (bound as g0, g1, ...), reading at most
    `PER_GRAM` words of each."""
    parts = [
        select(SearchWordGram.word)
        .where(SearchWordGram.gram == bindparam(f"g{i}", type_=String()))
        .limit(PER_GRAM)
        .subquery()
        for i in range(grams)
    ]
    read = union_all(*(select(part.c.word) for part in parts)).subquery()
    shared = func.count().label("shared")
    return (
        columns_of(read.c.word, shared, func.max(SearchWord.documents).label("documents"))
        .join(SearchWord, SearchWord.word == read.c.word)
        .where(SearchWord.documents > 0)
        .group_by(read.c.word)
        .order_by(shared.desc(), read.c.word)
        .limit(CANDIDATES)
    )


@lru_cache(maxsize=16)
def _seen_terms(dialect: str, seen: Shape) -> Select[Any]:
    """Which of the terms bound as `terms` a skill the caller sees holds.

    One EXISTS per term, which stops at the first visible holder: a DISTINCT over the
    join read every posting of a common term ("form": thousands) and was 40 % of a
    hybrid search's CPU at 10k skills (py-spy).
    """
    held = (
        select(SearchPosting.skill_id)
        .join(Skill, Skill.id == SearchPosting.skill_id)
        .where(SearchPosting.term == SearchTerm.term, visible_to(seen))
        .exists()
    )
    return columns_of(SearchTerm.term).where(
        listed(dialect, SearchTerm.term, "terms", String()), SearchTerm.documents > 0, held
    )


async def _known(reader: QuickReader, terms: set[str], sight: Sight) -> set[str]:
    """The `terms` a skill the caller may see holds."""
    if not terms:
        return set()
    dialect = reader.dialect_name
    params: dict[str, Any] = {"terms": list_param(dialect, sorted(terms))}
    if sight == ALL:
        rows = await reader.all(held_terms(dialect), params)
    else:
        rows = await reader.all(_seen_terms(dialect, sight.shape), {**sight.params(), **params})
    return {row["term"] for row in rows}


async def suggest(reader: QuickReader, query: str, sight: Sight = ALL) -> list[str]:
    """The query with its unknown words replaced by the closest known ones (at most one
    suggestion per close word of the first unknown word; empty when nothing is close).
    Known means held by a skill `sight` may see."""
    typed = words(query)[:8]
    if not typed:
        return []
    if sight != ALL and await sees_all(reader, sight):
        sight = ALL  # nothing indexed is hidden from this caller: no per-skill check
    known = await _known(reader, {stem(w) for w in typed}, sight)
    unknown = [w for w in typed if stem(w) not in known and len(w) >= 3][:MAX_WORDS]
    if not unknown:
        return []
    replacements = {word: await _remembered(reader, word) for word in unknown}
    # Only words a skill the caller sees holds now: the close words may be remembered
    # from before a delete, and the word tables hold hidden skills' words too.
    candidates = {stem(c) for close in replacements.values() for c in close}
    held = await _known(reader, candidates, sight)
    replacements = {w: [c for c in close if stem(c) in held] for w, close in replacements.items()}
    if not any(replacements.values()):
        return []
    first = next(w for w in unknown if replacements[w])
    suggestions = []
    for alternative in replacements[first][:3]:
        chosen = {w: (r[0] if r else w) for w, r in replacements.items()}
        chosen[first] = alternative
        suggestions.append(" ".join(chosen.get(w, w) for w in typed))
    return list(dict.fromkeys(suggestions))


_CLOSE: weakref.WeakKeyDictionary[QuickReader, TTLCache[str, list[str]]] = (
    weakref.WeakKeyDictionary()
)


async def _remembered(reader: QuickReader, word: str) -> list[str]:
    """`_closest`, kept per database and process for `CLOSE_SECONDS`."""
    kept = _CLOSE.get(reader)
    if kept is None:
        kept = _CLOSE[reader] = TTLCache(CLOSE_WORDS_KEPT, CLOSE_SECONDS)
    close = kept.get(word)
    if close is None:
        close = kept[word] = await _closest(reader, word)
    return close


async def _closest(reader: QuickReader, word: str) -> list[str]:
    grams = trigrams(word)
    # "  s" says only that a word starts with s: the most common trigram of all (a third
    # of the rows read at 10k skills) and the least telling. Candidates come from the
    # others; the similarity below counts every trigram.
    telling = sorted(g for g in grams if not g.startswith("  ")) or sorted(grams)
    looked_up = telling[:MAX_GRAMS]
    rows = await reader.all(
        _close_words(len(looked_up)), {f"g{i}": gram for i, gram in enumerate(looked_up)}
    )
    scored = []
    for row in rows:
        candidate = str(row["word"])
        if candidate == word:
            continue
        theirs = trigrams(candidate)
        shared = len(grams & theirs)
        similarity = shared / (len(grams) + len(theirs) - shared)
        if similarity >= MIN_SIMILARITY:
            scored.append((-similarity, -int(row["documents"]), candidate))
    return [candidate for _, _, candidate in sorted(scored)]
