"""purge and quota

Revision ID: 7c4e2a91d5b3
Revises: 2a325cbf2642
Create Date: 2026-12-02

`purged_at` on versions and blobs (the purge command empties long-deleted
content but keeps the rows, so a version number never returns changed), an
index on namespace owners (the storage quota sums an owner's versions) and one
on version digests (purging asks whether any version still needs a blob).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from skreg_common.db import UTCDateTime

revision: str = "7c4e2a91d5b3"
down_revision: str | None = "2a325cbf2642"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("catalog_versions", sa.Column("purged_at", UTCDateTime(), nullable=True))
    op.add_column("catalog_blobs", sa.Column("purged_at", UTCDateTime(), nullable=True))
    op.create_index("ix_catalog_namespaces_owner_id", "catalog_namespaces", ["owner_id"])
    op.create_index("ix_catalog_versions_digest", "catalog_versions", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_catalog_versions_digest", table_name="catalog_versions")
    op.drop_index("ix_catalog_namespaces_owner_id", table_name="catalog_namespaces")
    with op.batch_alter_table("catalog_blobs") as batch:
        batch.drop_column("purged_at")
    with op.batch_alter_table("catalog_versions") as batch:
        batch.drop_column("purged_at")
