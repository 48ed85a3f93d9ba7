"""a change token per search term, for postings kept in memory

Revision ID: c3d8e1f4a902
Revises: b6f1d2e84a17
Create Date: 2026-12-04

Every write of a term's postings replaces its `changed` token in the same transaction;
a process holding the term's postings in memory (`search.resident`) compares the token
on each search. Existing terms start at 0, which no cache holds yet (caches start
empty with the process).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d8e1f4a902"
down_revision: str | None = "b6f1d2e84a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "catalog_search_terms",
        sa.Column("changed", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("catalog_search_terms") as batch:
        batch.drop_column("changed")
