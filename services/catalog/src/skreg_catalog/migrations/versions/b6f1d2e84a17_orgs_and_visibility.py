"""namespaces owned by organizations, per-namespace default visibility, per-skill visibility

Revision ID: b6f1d2e84a17
Revises: 5e3a9c1d7b20
Create Date: 2026-12-03

Existing namespaces and skills stay public (the server default), as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b6f1d2e84a17"
down_revision: str | None = "5e3a9c1d7b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable, or with a server default) work on both backends.
    op.add_column("catalog_namespaces", sa.Column("org", sa.String(length=64), nullable=True))
    op.add_column(
        "catalog_namespaces",
        sa.Column(
            "default_visibility", sa.String(length=16), nullable=False, server_default="public"
        ),
    )
    op.create_index("ix_catalog_namespaces_org", "catalog_namespaces", ["org"])
    op.add_column(
        "catalog_skills",
        sa.Column("visibility", sa.String(length=16), nullable=False, server_default="public"),
    )
    op.create_index("ix_catalog_skills_visibility", "catalog_skills", ["visibility"])


def downgrade() -> None:
    op.drop_index("ix_catalog_skills_visibility", table_name="catalog_skills")
    op.drop_column("catalog_skills", "visibility")
    op.drop_index("ix_catalog_namespaces_org", table_name="catalog_namespaces")
    op.drop_column("catalog_namespaces", "default_visibility")
    op.drop_column("catalog_namespaces", "org")
