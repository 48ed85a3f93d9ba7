"""search term index

Revision ID: 5e7a1c93b2d4
Revises: 5e1a9c3d7b20
Create Date: 2026-12-03

The term index that bounds a search's cost on both backends (`search.lexical`):
per-term postings with precomputed BM25F weights, read best-first through
`ix_catalog_search_postings_rank`; term document counts (IDF, prefix completion);
and the words of names and tags with their trigrams ("did you mean").
Backfilled from the existing search documents with the same analysis the writer
uses (`search.index`).

The full-text indexes of the first revision (FTS5 on SQLite; the `tsv` column, its
GIN index and the name trigram index on PostgreSQL) rank nothing any more and only
cost every publish, so they go; a downgrade rebuilds them from the documents.
"""

import importlib.util
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "5e7a1c93b2d4"
down_revision: str | None = "5e1a9c3d7b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500


def upgrade() -> None:
    postings = op.create_table(
        "catalog_search_postings",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("fields", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["catalog_skills.id"],
            name=op.f("fk_catalog_search_postings_skill_id_catalog_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "skill_id", name=op.f("pk_catalog_search_postings")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_catalog_search_postings_rank",
        "catalog_search_postings",
        ["term", sa.text("weight DESC"), "skill_id", "fields"],
    )
    op.create_index(
        "ix_catalog_search_postings_skill_id", "catalog_search_postings", ["skill_id"]
    )
    terms = op.create_table(
        "catalog_search_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_catalog_search_terms")),
    )
    words = op.create_table(
        "catalog_search_words",
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_catalog_search_words")),
    )
    grams = op.create_table(
        "catalog_search_word_grams",
        sa.Column("gram", sa.String(length=3), nullable=False),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("gram", "word", name=op.f("pk_catalog_search_word_grams")),
    )
    _backfill(postings, terms, words, grams)
    dialect = op.get_bind().dialect.name
    first = _first_revision()
    if dialect == "sqlite":
        for statement in first.SQLITE_SEARCH_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in first.POSTGRES_SEARCH_DOWN:
            op.execute(statement)
        op.execute("ALTER TABLE catalog_search_documents DROP COLUMN IF EXISTS tsv")


def _first_revision() -> ModuleType:
    """The revision that made the full-text indexes (its statements, not a copy of them)."""
    path = Path(__file__).with_name("2a325cbf2642_catalog_tables_and_search.py")
    spec = importlib.util.spec_from_file_location("catalog_2a325cbf2642", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _backfill(postings: sa.Table, terms: sa.Table, words: sa.Table, grams: sa.Table) -> None:
    from skreg_catalog.search.index import gram_rows, posting_rows
    from skreg_catalog.search.terms import vocabulary

    bind = op.get_bind()
    term_counts: Counter[str] = Counter()
    word_counts: Counter[str] = Counter()
    last = 0
    while True:
        documents = bind.execute(
            sa.text(
                "SELECT skill_id, namespace, name, tags, description, body"
                " FROM catalog_search_documents WHERE skill_id > :last"
                " ORDER BY skill_id LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).mappings().all()
        if not documents:
            break
        rows = []
        for document in documents:
            found = posting_rows(document["skill_id"], document)
            term_counts.update(row["term"] for row in found)
            word_counts.update(vocabulary(document["name"], document["tags"]))
            rows.extend(found)
        bind.execute(postings.insert(), rows)
        last = documents[-1]["skill_id"]
    if term_counts:
        bind.execute(terms.insert(), [{"term": t, "documents": n} for t, n in term_counts.items()])
    if word_counts:
        bind.execute(words.insert(), [{"word": w, "documents": n} for w, n in word_counts.items()])
        bind.execute(grams.insert(), gram_rows(word_counts))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    first = _first_revision()
    if dialect == "sqlite":
        for statement in first.SQLITE_SEARCH:
            op.execute(statement)
        op.execute("INSERT INTO catalog_search_fts(catalog_search_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        # The extension stayed; the generated column fills itself from the documents.
        for statement in first.POSTGRES_SEARCH[1:]:
            op.execute(statement)
    op.drop_table("catalog_search_word_grams")
    op.drop_table("catalog_search_words")
    op.drop_table("catalog_search_terms")
    op.drop_index("ix_catalog_search_postings_skill_id", table_name="catalog_search_postings")
    op.drop_index("ix_catalog_search_postings_rank", table_name="catalog_search_postings")
    op.drop_table("catalog_search_postings")
