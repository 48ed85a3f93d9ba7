"""catalog tables and search

Revision ID: 2a325cbf2642
Revises:
Create Date: 2026-11-22 00:05:48.246714

Tables for namespaces, skills, tags, versions, blobs and download counts, plus
the full-text index, which differs per backend:

- SQLite: an FTS5 external-content table over `catalog_search_documents`,
  kept in step by triggers (porter stemming, prefix indexes for type-ahead).
- PostgreSQL: a generated, weighted `tsvector` column with a GIN index, and
  `pg_trgm` with a trigram GIN index on `name` so typos still find skills.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from skreg_common.db import UTCDateTime

revision: str = "2a325cbf2642"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_COLUMNS = "name, namespace, tags, description, body"

SQLITE_SEARCH = [
    f"""
    CREATE VIRTUAL TABLE catalog_search_fts USING fts5(
        {FTS_COLUMNS},
        content='catalog_search_documents',
        content_rowid='skill_id',
        tokenize='porter unicode61 remove_diacritics 2',
        prefix='2 3'
    )
    """,
    f"""
    CREATE TRIGGER catalog_search_documents_ai AFTER INSERT ON catalog_search_documents BEGIN
        INSERT INTO catalog_search_fts(rowid, {FTS_COLUMNS})
        VALUES (new.skill_id, new.name, new.namespace, new.tags, new.description, new.body);
    END
    """,
    f"""
    CREATE TRIGGER catalog_search_documents_ad AFTER DELETE ON catalog_search_documents BEGIN
        INSERT INTO catalog_search_fts(catalog_search_fts, rowid, {FTS_COLUMNS})
        VALUES ('delete', old.skill_id, old.name, old.namespace, old.tags, old.description,
                old.body);
    END
    """,
    f"""
    CREATE TRIGGER catalog_search_documents_au AFTER UPDATE ON catalog_search_documents BEGIN
        INSERT INTO catalog_search_fts(catalog_search_fts, rowid, {FTS_COLUMNS})
        VALUES ('delete', old.skill_id, old.name, old.namespace, old.tags, old.description,
                old.body);
        INSERT INTO catalog_search_fts(rowid, {FTS_COLUMNS})
        VALUES (new.skill_id, new.name, new.namespace, new.tags, new.description, new.body);
    END
    """,
]

SQLITE_SEARCH_DOWN = [
    "DROP TRIGGER IF EXISTS catalog_search_documents_au",
    "DROP TRIGGER IF EXISTS catalog_search_documents_ad",
    "DROP TRIGGER IF EXISTS catalog_search_documents_ai",
    "DROP TABLE IF EXISTS catalog_search_fts",
]

# Weights: the name matters most, then tags, then the description, then the body.
POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    ALTER TABLE catalog_search_documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(name, '')), 'A')
        || setweight(to_tsvector('english', coalesce(namespace, '')), 'B')
        || setweight(to_tsvector('english', coalesce(tags, '')), 'B')
        || setweight(to_tsvector('english', coalesce(description, '')), 'C')
        || setweight(to_tsvector('english', coalesce(body, '')), 'D')
    ) STORED
    """,
    "CREATE INDEX ix_catalog_search_documents_tsv ON catalog_search_documents USING gin (tsv)",
    "CREATE INDEX ix_catalog_search_documents_name_trgm ON catalog_search_documents "
    "USING gin (name gin_trgm_ops)",
]

# The extension stays: other databases objects may use it, and re-creating is a no-op.
POSTGRES_SEARCH_DOWN = [
    "DROP INDEX IF EXISTS ix_catalog_search_documents_name_trgm",
    "DROP INDEX IF EXISTS ix_catalog_search_documents_tsv",
]


def _create_tables() -> None:
    op.create_table(
        "catalog_blobs",
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_catalog_blobs")),
    )
    op.create_table(
        "catalog_counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_catalog_counters")),
    )
    op.create_table(
        "catalog_namespaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("owner_name", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_namespaces")),
        sa.UniqueConstraint("name", name=op.f("uq_catalog_namespaces_name")),
    )
    op.create_table(
        "catalog_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("latest_version", sa.String(length=128), nullable=True),
        sa.Column("latest_version_id", sa.Integer(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("deprecated", sa.Boolean(), nullable=False),
        sa.Column("deprecated_reason", sa.String(length=500), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["catalog_namespaces.id"],
            name=op.f("fk_catalog_skills_namespace_id_catalog_namespaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_skills")),
        sa.UniqueConstraint(
            "namespace_id", "name", name=op.f("uq_catalog_skills_namespace_id_name")
        ),
    )
    op.create_index("ix_catalog_skills_downloads_id", "catalog_skills", ["downloads", "id"])
    op.create_index("ix_catalog_skills_name_id", "catalog_skills", ["name", "id"])
    op.create_index("ix_catalog_skills_namespace_name", "catalog_skills", ["namespace", "name"])
    op.create_index("ix_catalog_skills_source_id", "catalog_skills", ["source_id"])
    op.create_index("ix_catalog_skills_updated_at_id", "catalog_skills", ["updated_at", "id"])
    visible = sa.text("deleted_at IS NULL AND latest_version_id IS NOT NULL")
    op.create_index(
        "ix_catalog_skills_visible",
        "catalog_skills",
        ["id"],
        sqlite_where=visible,
        postgresql_where=visible,
    )
    op.create_table(
        "catalog_search_documents",
        sa.Column("skill_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["catalog_skills.id"],
            name=op.f("fk_catalog_search_documents_skill_id_catalog_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("skill_id", name=op.f("pk_catalog_search_documents")),
    )
    op.create_table(
        "catalog_skill_tags",
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["catalog_skills.id"],
            name=op.f("fk_catalog_skill_tags_skill_id_catalog_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("skill_id", "tag", name=op.f("pk_catalog_skill_tags")),
    )
    op.create_index("ix_catalog_skill_tags_tag_skill_id", "catalog_skill_tags", ["tag", "skill_id"])
    op.create_table(
        "catalog_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("prerelease", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("license", sa.Text(), nullable=True),
        sa.Column("compatibility", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("frontmatter", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("compressed_size", sa.Integer(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("publisher_id", sa.String(length=64), nullable=True),
        sa.Column("publisher_name", sa.String(length=64), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("yanked", sa.Boolean(), nullable=False),
        sa.Column("yank_reason", sa.String(length=500), nullable=True),
        sa.Column("yanked_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"],
            ["catalog_blobs.digest"],
            name=op.f("fk_catalog_versions_digest_catalog_blobs"),
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["catalog_skills.id"],
            name=op.f("fk_catalog_versions_skill_id_catalog_skills"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
        sa.UniqueConstraint(
            "skill_id", "version", name=op.f("uq_catalog_versions_skill_id_version")
        ),
    )
    op.create_table(
        "catalog_download_clients",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_download_clients_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "version_id", "day", "client", name=op.f("pk_catalog_download_clients")
        ),
    )
    op.create_table(
        "catalog_download_days",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_download_days_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "day", name=op.f("pk_catalog_download_days")),
    )


def upgrade() -> None:
    _create_tables()
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_SEARCH, "postgresql": POSTGRES_SEARCH}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_SEARCH_DOWN, "postgresql": POSTGRES_SEARCH_DOWN}.get(dialect, [])
    for statement in statements:
        op.execute(statement)
    op.drop_table("catalog_download_days")
    op.drop_table("catalog_download_clients")
    op.drop_table("catalog_versions")
    op.drop_index("ix_catalog_skill_tags_tag_skill_id", table_name="catalog_skill_tags")
    op.drop_table("catalog_skill_tags")
    op.drop_table("catalog_search_documents")
    for index in (
        "ix_catalog_skills_visible",
        "ix_catalog_skills_updated_at_id",
        "ix_catalog_skills_source_id",
        "ix_catalog_skills_namespace_name",
        "ix_catalog_skills_name_id",
        "ix_catalog_skills_downloads_id",
    ):
        op.drop_index(index, table_name="catalog_skills")
    op.drop_table("catalog_skills")
    op.drop_table("catalog_namespaces")
    op.drop_table("catalog_blobs")
    op.drop_table("catalog_counters")
