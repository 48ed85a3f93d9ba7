"""each version's page stored as JSON beside its rendered body

Revision ID: d4f2b8a61c35
Revises: c3d8e1f4a902
Create Date: 2026-12-04

A version's page (`GET …/versions/{version}`) without the fields that change after
publish, encoded once with the HTML (`skreg_catalog.skills.document`), and its digest
(what the page's ETag is made from, so a read does not hash the whole page). No backfill
here: rows without one are served the old way meanwhile and given one by the
catalog's background pass at start-up (`skreg_catalog.rendering.stored`), which
re-uses the stored HTML where the renderer has not changed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f2b8a61c35"
down_revision: str | None = "c3d8e1f4a902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("catalog_rendered_bodies", sa.Column("document", sa.LargeBinary()))
    op.add_column("catalog_rendered_bodies", sa.Column("document_digest", sa.String(32)))
    op.add_column("catalog_rendered_bodies", sa.Column("document_version", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("catalog_rendered_bodies") as batch:
        batch.drop_column("document_version")
        batch.drop_column("document_digest")
        batch.drop_column("document")
