"""signed attestations

Revision ID: 5e1a9c3d7b20
Revises: eff5a5b37e9b
Create Date: 2026-12-03

The registry's signing keys (public parts, every key ever used) and each version's
DSSE envelope, plus the signing key id on the version row for the API shape. No
backfill here: the catalog signs versions from before this revision in the
background at start-up, and on the spot if a client asks first
(`skreg_catalog.signing.service`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from skreg_common.db import UTCDateTime

revision: str = "5e1a9c3d7b20"
down_revision: str | None = "eff5a5b37e9b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_signing_keys",
        sa.Column("keyid", sa.String(length=64), nullable=False),
        sa.Column("keytype", sa.String(length=32), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("public", sa.String(length=256), nullable=False),
        sa.Column("first_used_at", UTCDateTime(), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("keyid", name=op.f("pk_catalog_signing_keys")),
    )
    op.create_table(
        "catalog_attestations",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("keyid", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_attestations_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["keyid"],
            ["catalog_signing_keys.keyid"],
            name=op.f("fk_catalog_attestations_keyid_catalog_signing_keys"),
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_catalog_attestations")),
    )
    # A plain ADD COLUMN on both dialects (a batch rebuild would drop SQLite's search triggers).
    op.add_column("catalog_versions", sa.Column("signature_keyid", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_versions") as batch:
        batch.drop_column("signature_keyid")
    op.drop_table("catalog_attestations")
    op.drop_table("catalog_signing_keys")
