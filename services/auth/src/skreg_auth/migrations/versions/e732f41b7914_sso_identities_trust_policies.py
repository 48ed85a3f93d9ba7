"""SSO requests, identities and memberships; trust policies and used CI tokens

Revision ID: e732f41b7914
Revises: c429124eb1a2
Create Date: 2026-12-03

New tables only: nothing existing changes.
"""

from collections.abc import Sequence

import skreg_common.db
import sqlalchemy as sa
from alembic import op

revision: str = "e732f41b7914"
down_revision: str | None = "c429124eb1a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_sso_requests",
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=True),
        sa.Column("code_verifier", sa.String(length=128), nullable=True),
        sa.Column("redirect_uri", sa.String(length=2048), nullable=True),
        sa.Column("device_code", sa.String(length=2048), nullable=True),
        sa.Column("created_at", skreg_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", skreg_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("handle", name=op.f("pk_auth_sso_requests")),
    )
    with op.batch_alter_table("auth_sso_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_sso_requests_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "auth_used_ci_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", skreg_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_used_ci_tokens")),
    )
    with op.batch_alter_table("auth_used_ci_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_used_ci_tokens_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "auth_sso_identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("created_at", skreg_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", skreg_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_sso_identities_user_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sso_identities")),
        sa.UniqueConstraint("issuer", "subject", name="issuer_subject"),
    )
    with op.batch_alter_table("auth_sso_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_sso_identities_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "auth_sso_memberships",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("organization", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("updated_at", skreg_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_sso_memberships_user_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sso_memberships")),
        sa.UniqueConstraint("user_id", "organization", name="user_organization"),
    )
    with op.batch_alter_table("auth_sso_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_sso_memberships_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "auth_trust_policies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("audience", sa.String(length=255), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", skreg_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_trust_policies_user_id_auth_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_trust_policies")),
    )
    with op.batch_alter_table("auth_trust_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_trust_policies_namespace"), ["namespace"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_trust_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_trust_policies_namespace"))

    op.drop_table("auth_trust_policies")
    with op.batch_alter_table("auth_sso_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sso_memberships_user_id"))

    op.drop_table("auth_sso_memberships")
    with op.batch_alter_table("auth_sso_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sso_identities_user_id"))

    op.drop_table("auth_sso_identities")
    with op.batch_alter_table("auth_used_ci_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_used_ci_tokens_expires_at"))

    op.drop_table("auth_used_ci_tokens")
    with op.batch_alter_table("auth_sso_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sso_requests_expires_at"))

    op.drop_table("auth_sso_requests")
