"""Keeps the term index in step with a skill's search document, in the writer's transaction.

`skills.state` calls `reindex` wherever it writes or removes a search document, so the
postings, the term counts (IDF) and the suggestion words commit or roll back with
the publish, yank or delete that changed them: there is no separate index to warm,
rebuild or keep consistent across replicas and restarts; every process reads the
same committed rows on its next search. A term's `changed` token is replaced with
its postings, so postings a process keeps in memory (`search.resident`) are checked
against the committed state on every search.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from skreg_common.db import insert_for
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.search.models import SearchPosting, SearchTerm, SearchWord, SearchWordGram
from skreg_catalog.search.terms import postings, trigrams, vocabulary

DocumentFields = Mapping[str, str]
"""A search document's text by field name (`DOCUMENT_FIELDS`; tags space separated)."""
DOCUMENT_FIELDS = ("namespace", "name", "tags", "description", "body")


def posting_rows(skill_id: int, fields: DocumentFields) -> list[dict[str, Any]]:
    """The `catalog_search_postings` rows of one document."""
    return [
        {"term": p.term, "skill_id": skill_id, "weight": p.weight, "fields": p.fields}
        for p in postings(
            fields["namespace"],
            fields["name"],
            fields["tags"],
            fields["description"],
            fields["body"],
        )
    ]


def gram_rows(words: Iterable[str]) -> list[dict[str, str]]:
    """The `catalog_search_word_grams` rows of suggestion words."""
    return [{"gram": gram, "word": word} for word in sorted(words) for gram in trigrams(word)]


async def reindex(
    session: AsyncSession,
    skill_id: int,
    old: DocumentFields | None,
    new: DocumentFields | None,
) -> None:
    """Replace one skill's postings (`new` None: it left search) and adjust the counts."""
    await session.flush()  # the skill row exists before rows that reference it
    old_terms = set(
        (
            await session.execute(
                select(SearchPosting.term).where(SearchPosting.skill_id == skill_id)
            )
        ).scalars()
    )
    rows = posting_rows(skill_id, new) if new is not None else []
    new_terms = {row["term"] for row in rows}
    if old_terms:
        await session.execute(delete(SearchPosting).where(SearchPosting.skill_id == skill_id))
    if rows:
        await session.execute(insert_for(session)(SearchPosting), rows)
    term_delta = Counter(dict.fromkeys(new_terms - old_terms, 1))
    term_delta.subtract(dict.fromkeys(old_terms - new_terms, 1))
    await _count_terms(session, old_terms | new_terms, term_delta)
    old_words = vocabulary(old["name"], old["tags"]) if old is not None else set()
    new_words = vocabulary(new["name"], new["tags"]) if new is not None else set()
    word_delta = Counter(dict.fromkeys(new_words - old_words, 1))
    word_delta.subtract(dict.fromkeys(old_words - new_words, 1))
    await _count(session, SearchWord, "word", word_delta)
    added = new_words - old_words
    if added:
        insert = insert_for(session)
        await session.execute(
            insert(SearchWordGram).values(gram_rows(added)).on_conflict_do_nothing()
        )


async def _count_terms(session: AsyncSession, touched: set[str], delta: Counter[str]) -> None:
    """Adjust the terms' counts, and give every term whose postings this write touched
    (a kept term's weight changes with the document's length) a new change token."""
    if not touched:
        return
    token = secrets.randbits(62)
    changes = [{"term": t, "documents": delta.get(t, 0), "changed": token} for t in sorted(touched)]
    insert = insert_for(session)
    statement = insert(SearchTerm).values(changes)
    documents = SearchTerm.__table__.c.documents
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[SearchTerm.term],
            set_={
                "documents": documents + statement.excluded.documents,
                "changed": statement.excluded.changed,
            },
        )
    )


async def _count(session: AsyncSession, model: Any, key: str, delta: Counter[str]) -> None:
    changes = [{key: k, "documents": v} for k, v in sorted(delta.items()) if v]
    if not changes:
        return
    insert = insert_for(session)
    statement = insert(model).values(changes)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[getattr(model, key)],
            set_={"documents": model.__table__.c.documents + statement.excluded.documents},
        )
    )
