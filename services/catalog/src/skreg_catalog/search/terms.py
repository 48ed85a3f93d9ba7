"""Text analysis for the term index: words, stems, and per-document term weights.

The same analysis runs when a skill is indexed and when a query is parsed, in
Python on every backend, so SQLite and PostgreSQL rank identically.

A document's weight for a term is BM25F's term-frequency part over its fields
(name, namespace and tags, description, body), each with a boost and a fixed
average length. Fixing the averages (instead of measuring the corpus) keeps a
weight a function of the document alone: publishing other skills never rewrites
it. The corpus enters only through the term's IDF, applied at query time
(`search.lexical`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

MAX_TERM_LENGTH = 64
MAX_BODY_TERMS = 128
"""The body's most frequent distinct terms that are indexed (bounds the rows per skill)."""

WEIGHT_SCALE = 1000
K1 = 1.2
B = 0.75

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("english")


@dataclass(frozen=True)
class Field:
    """A field of the search document: its bit in `fields`, its boost and typical length."""

    name: str
    bit: int
    boost: float
    average_length: float


NAME = Field("name", 1, 8.0, 3.0)
TAGS = Field("tags", 2, 4.0, 4.0)  # tags and the namespace
DESCRIPTION = Field("description", 4, 2.0, 20.0)
BODY = Field("body", 8, 1.0, 300.0)
FIELDS = (NAME, TAGS, DESCRIPTION, BODY)


def words(text: str) -> list[str]:
    """Lowercase word tokens (letters and digits; `-`, `_` and punctuation split words)."""
    return [w[:MAX_TERM_LENGTH] for w in _WORD.findall(text.lower())]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English Snowball stem of a lowercase word."""
    return str(_STEMMER.stemWord(word))


@lru_cache(maxsize=256)
def field_names(bits: int) -> tuple[str, ...]:
    """The names of the fields set in a `fields` bit mask, most important first (a few
    masks, met on every ranked candidate: worked out once each)."""
    return tuple(field.name for field in FIELDS if bits & field.bit)


@dataclass(frozen=True)
class Posting:
    """One term of one document: its weight and the fields it occurs in."""

    term: str
    weight: int
    fields: int


def postings(namespace: str, name: str, tags: str, description: str, body: str) -> list[Posting]:
    """The weighted terms of a search document (what `catalog_search_postings` holds)."""
    texts = {
        NAME: words(name),
        TAGS: words(f"{namespace} {tags}"),
        DESCRIPTION: words(description),
        BODY: words(body),
    }
    weights: dict[str, float] = {}
    bits: dict[str, int] = {}
    for field, tokens in texts.items():
        counts = Counter(stem(token) for token in tokens)
        if field is BODY and len(counts) > MAX_BODY_TERMS:
            counts = Counter(
                dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_BODY_TERMS])
            )
        norm = K1 * (1 - B + B * len(tokens) / field.average_length)
        for term, tf in counts.items():
            weights[term] = weights.get(term, 0.0) + field.boost * tf * (K1 + 1) / (tf + norm)
            bits[term] = bits.get(term, 0) | field.bit
    return [
        Posting(term, max(1, round(weight * WEIGHT_SCALE)), bits[term])
        for term, weight in sorted(weights.items())
    ]


def vocabulary(name: str, tags: str) -> set[str]:
    """The words "did you mean" can suggest from a skill: its name's words and its tags."""
    found = set(words(name)) | set(words(tags))
    found.add(name.lower()[:MAX_TERM_LENGTH])
    return {word for word in found if len(word) >= 3}


def trigrams(word: str) -> set[str]:
    """The word's trigrams, padded at both ends (`"pdf"` -> `"  p", " pd", "pdf", "df "`)."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}
