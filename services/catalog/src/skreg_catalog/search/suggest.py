""" "Did you mean": known words of names and tags close to a query's unknown words.

Trigram similarity over `catalog_search_word_grams` (the same tables and SQL on
SQLite and PostgreSQL, so no `pg_trgm` is needed): for each query word no skill
holds, the words sharing most of its trigrams, ranked by Jaccard similarity and then
by how many skills hold them. Bounded: at most `MAX_WORDS` words are looked up, each
reading the postings of its own trigrams only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from skreg_common.quickread import QuickReader
from sqlalchemy import Select, String, func

from skreg_catalog.search.lexical import columns_of, list_param, listed
from skreg_catalog.search.models import SearchTerm, SearchWord, SearchWordGram
from skreg_catalog.search.terms import stem, trigrams, words

SUGGEST_BELOW = 3
"""A first page with fewer matches than this gets suggestions."""
MAX_WORDS = 4
MIN_SIMILARITY = 0.3
CANDIDATES = 16


@lru_cache(maxsize=4)
def _close_words(dialect: str) -> Select[Any]:
    shared = func.count().label("shared")
    return (
        columns_of(SearchWordGram.word, shared, func.max(SearchWord.documents).label("documents"))
        .join(SearchWord, SearchWord.word == SearchWordGram.word)
        .where(listed(dialect, SearchWordGram.gram, "grams", String()), SearchWord.documents > 0)
        .group_by(SearchWordGram.word)
        .order_by(shared.desc(), SearchWordGram.word)
        .limit(CANDIDATES)
    )


@lru_cache(maxsize=4)
def _known_terms(dialect: str) -> Select[Any]:
    return columns_of(SearchTerm.term).where(
        listed(dialect, SearchTerm.term, "terms", String()), SearchTerm.documents > 0
    )


async def suggest(reader: QuickReader, query: str) -> list[str]:
    """The query with its unknown words replaced by the closest known ones (at most one
    suggestion per close word of the first unknown word; empty when nothing is close)."""
    dialect = reader.dialect_name
    typed = words(query)[:8]
    if not typed:
        return []
    rows = await reader.all(
        _known_terms(dialect), {"terms": list_param(dialect, sorted({stem(w) for w in typed}))}
    )
    known = {row["term"] for row in rows}
    unknown = [w for w in typed if stem(w) not in known and len(w) >= 3][:MAX_WORDS]
    if not unknown:
        return []
    replacements: dict[str, list[str]] = {}
    for word in unknown:
        replacements[word] = await _closest(reader, word)
    if not any(replacements.values()):
        return []
    first = next(w for w in unknown if replacements[w])
    suggestions = []
    for alternative in replacements[first][:3]:
        chosen = {w: (r[0] if r else w) for w, r in replacements.items()}
        chosen[first] = alternative
        suggestions.append(" ".join(chosen.get(w, w) for w in typed))
    return list(dict.fromkeys(suggestions))


async def _closest(reader: QuickReader, word: str) -> list[str]:
    grams = trigrams(word)
    dialect = reader.dialect_name
    rows = await reader.all(_close_words(dialect), {"grams": list_param(dialect, sorted(grams))})
    scored = []
    for row in rows:
        candidate = str(row["word"])
        if candidate == word:
            continue
        shared = int(row["shared"])
        similarity = shared / (len(grams) + len(trigrams(candidate)) - shared)
        if similarity >= MIN_SIMILARITY:
            scored.append((-similarity, -int(row["documents"]), candidate))
    return [candidate for _, _, candidate in sorted(scored)]
