"""auth_* table names: every service prefixes the tables it owns on the shared database

Revision ID: c429124eb1a2
Revises: 3c8e5a7f1b24
Create Date: 2026-12-02

users, api_keys, refresh_tokens and audit_events become auth_users, auth_api_keys,
auth_refresh_tokens and auth_audit_events; their keys, constraints and indexes (and on
PostgreSQL the audit id sequence) are renamed to match, per the naming convention.

PostgreSQL renames in place: no row is copied, ids and the sequence carry on.

SQLite keeps constraint names inside each table's CREATE statement, so only a rebuild
renames them, and batch mode cannot rebuild these tables one at a time: foreign keys
stay on inside the migration's transaction, and dropping `users` (batch mode's copy,
drop, rename) would run its ON DELETE CASCADE through api_keys and refresh_tokens
before they were copied. So the four are rebuilt together, as batch mode rebuilds
one: every new table is made and filled (parents first) before any old one is
dropped (children first, leaving the cascade nothing to do).
"""

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op
from skreg_common.db import UTCDateTime, is_sqlite

revision: str = "c429124eb1a2"
down_revision: str | None = "3c8e5a7f1b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD, NEW = "", "auth_"
TABLES = ("users", "api_keys", "refresh_tokens", "audit_events")  # parents first
# Frozen copy of skreg_common.db.NAMING_CONVENTION as of this revision.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _schema(prefix: str) -> sa.MetaData:
    """The four tables as of this revision, their names starting with `prefix`."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    users = f"{prefix}users"

    def user_id() -> sa.Column[str]:
        owner = sa.ForeignKey(f"{users}.id", ondelete="CASCADE")
        return sa.Column("user_id", sa.String(36), owner, nullable=False, index=True)

    sa.Table(
        users,
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(39), nullable=False, unique=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False, index=True, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("tokens_revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'user')", name="role"),
    )
    sa.Table(
        f"{prefix}api_keys",
        metadata,
        sa.Column("id", sa.String(32), primary_key=True),
        user_id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("parent_id", sa.String(32), nullable=True, index=True),
    )
    sa.Table(
        f"{prefix}refresh_tokens",
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("family_id", sa.String(36), nullable=False, index=True),
        user_id(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True, index=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
    )
    sa.Table(
        f"{prefix}audit_events",
        metadata,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", UTCDateTime(), nullable=False, index=True),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True, index=True),
        sa.Column("actor_name", sa.String(64), nullable=True),
        sa.Column("target_type", sa.String(32), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True, index=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    return metadata


def _named(table: sa.Table) -> dict[tuple[str, ...], str]:
    """Each constraint's and index's name, by what it is (kind and columns, or its check)."""
    names: dict[tuple[str, ...], str] = {}
    for constraint in table.constraints:
        check = str(constraint.sqltext) if isinstance(constraint, sa.CheckConstraint) else ""
        columns = tuple(column.name for column in constraint.columns)
        names[(type(constraint).__name__, check, *columns)] = str(constraint.name)
    for index in table.indexes:
        names[("Index", *(column.name for column in index.columns))] = str(index.name)
    return names


def _pairs(before: sa.Table, after: sa.Table) -> Iterator[tuple[str, str, bool]]:
    """(old name, new name, is an index) for everything named after its table."""
    old, new = _named(before), _named(after)
    assert old.keys() == new.keys()
    for key, name in old.items():
        yield name, new[key], key[0] == "Index"


def _rename_in_place(source: sa.MetaData, target: sa.MetaData, src: str, dst: str) -> None:
    """PostgreSQL: tables, constraints (a key's index with it), indexes, the id sequence."""
    for name in TABLES:
        before, after = source.tables[src + name], target.tables[dst + name]
        op.rename_table(before.name, after.name)
        for old, new, is_index in _pairs(before, after):
            if is_index:
                op.execute(f'ALTER INDEX "{old}" RENAME TO "{new}"')
            else:
                op.execute(f'ALTER TABLE "{after.name}" RENAME CONSTRAINT "{old}" TO "{new}"')
    audit = f"{dst}audit_events"
    sequence = op.get_bind().scalar(
        sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": audit}
    )
    op.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{audit}_id_seq"')


def _rebuild(source: sa.MetaData, target: sa.MetaData, src: str, dst: str) -> None:
    """SQLite: all new tables filled from the old ones, then the old ones dropped (see above)."""
    bind = op.get_bind()
    for name in TABLES:
        before, after = source.tables[src + name], target.tables[dst + name]
        after.create(bind)
        columns = [column.name for column in before.columns]
        bind.execute(after.insert().from_select(columns, sa.select(*before.columns)))
    for name in reversed(TABLES):
        source.tables[src + name].drop(bind)


def _move(src: str, dst: str) -> None:
    source, target = _schema(src), _schema(dst)
    if is_sqlite(op.get_bind().engine.url):
        _rebuild(source, target, src, dst)
    else:
        _rename_in_place(source, target, src, dst)


def upgrade() -> None:
    _move(OLD, NEW)


def downgrade() -> None:
    _move(NEW, OLD)
