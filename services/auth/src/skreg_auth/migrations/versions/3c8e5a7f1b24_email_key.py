"""users.email_key: emails unique under Unicode case folding, not ASCII lower()

Revision ID: 3c8e5a7f1b24
Revises: 9d41b6e2c7a0
Create Date: 2026-12-02

`lower(email)` folds only ASCII on SQLite, so `Älice@x` and `älice@x` could both
register. The key is computed in Python (NFKC, casefold, NFKC) and backfilled. Rows
whose keys collide keep their email; the oldest keeps the key and each later one
gets `duplicate <user id>` (never a real key: keys have no spaces), and a warning
names them, so an administrator can sort them out. No table is rebuilt: on SQLite
that would run the ON DELETE CASCADE of every table pointing at users.
"""

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c8e5a7f1b24"
down_revision: str | None = "9d41b6e2c7a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_KEY_LENGTH = 320
log = logging.getLogger("alembic.runtime.migration")
users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("email", sa.String),
    sa.column("email_key", sa.String),
    sa.column("created_at", sa.String),
)


def _key(email: str) -> str:
    # Frozen copy of skreg_auth.users.models.email_key as of this revision.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email.strip()).casefold())


def _backfill() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(users.c.id, users.c.email).order_by(users.c.created_at, users.c.id)
    ).all()
    owners: dict[str, str] = {}
    for user_id, email in rows:
        key = _key(email)
        if key in owners or len(key) > MAX_KEY_LENGTH:
            log.warning(
                "users.email_key: user %s has the same email as user %s (or an unusable one); "
                "it keeps its email but cannot sign in by it until an administrator changes it",
                user_id,
                owners.get(key),
            )
            key = f"duplicate {user_id}"
        owners[key] = user_id
        bind.execute(sa.update(users).where(users.c.id == user_id).values(email_key=key))


def upgrade() -> None:
    op.drop_index("ix_users_email_lower", table_name="users")
    # NOT NULL needs a default for the rows already there; every insert sets the key.
    op.add_column(
        "users",
        sa.Column(
            "email_key", sa.String(length=MAX_KEY_LENGTH), nullable=False, server_default=""
        ),
    )
    _backfill()
    op.create_index(op.f("ix_users_email_key"), "users", ["email_key"], unique=True)
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot drop a default without a rebuild
        op.alter_column("users", "email_key", server_default=None)


def downgrade() -> None:
    op.drop_index(op.f("ix_users_email_key"), table_name="users")
    op.drop_column("users", "email_key")
    op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
