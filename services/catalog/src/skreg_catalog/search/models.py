"""The text each skill is found by, and the term index over it (the same on every backend).

`SearchDocument` keeps each visible skill's text; `search.index` derives the
postings, term counts and suggestion words from it in the same transaction
(`search.lexical` and `search.suggest` read them).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base


class SearchDocument(Base):
    """One row per searchable skill (deleted or fully yanked skills have none)."""

    __tablename__ = "catalog_search_documents"

    # INTEGER PRIMARY KEY (the rowid on SQLite): the skill it describes.
    skill_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("catalog_skills.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    namespace: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    tags: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


class CatalogCounter(Base):
    """Running totals kept in step with the rows they count, so totals cost one read.

    `visible_skills` changes only where visibility does (`skills.state.refresh_skill`).
    """

    __tablename__ = "catalog_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


VISIBLE_SKILLS = "visible_skills"


class SearchPosting(Base):
    """A term of a visible skill's search document, with its precomputed weight.

    Written with the search document (`search.index`), in the same transaction, so
    every process sees a publish, yank or delete on its next search. Read top-down
    per term through `ix_catalog_search_postings_rank` (the best documents first),
    which is what bounds a search's cost (`search.lexical`).
    """

    __tablename__ = "catalog_search_postings"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    skill_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("catalog_skills.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[int] = mapped_column(Integer)
    fields: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # Covering: a term's best postings are read from the index alone.
        Index("ix_catalog_search_postings_rank", "term", weight.desc(), "skill_id", "fields"),
        Index("ix_catalog_search_postings_skill_id", "skill_id"),
        {"sqlite_with_rowid": False},  # clustered on (term, skill_id): random access is one seek
    )


class SearchTerm(Base):
    """How many visible skills hold a term: its IDF at query time, and prefix completion.

    `changed` is a random token that every write of the term's postings replaces (in
    the same transaction): a process that keeps a term's postings in memory
    (`search.resident`) compares it on every search to know its copy is current.
    """

    __tablename__ = "catalog_search_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class SearchWord(Base):
    """A word of visible skills' names and tags, with how many hold it ("did you mean")."""

    __tablename__ = "catalog_search_words"

    word: Mapped[str] = mapped_column(String(64), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)


class SearchWordGram(Base):
    """The trigrams of each suggestion word, for similarity look-ups on every backend."""

    __tablename__ = "catalog_search_word_grams"

    gram: Mapped[str] = mapped_column(String(3), primary_key=True)
    word: Mapped[str] = mapped_column(String(64), primary_key=True)
