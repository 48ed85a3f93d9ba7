"""The auth_* rename (issue 18): a database with auth rows keeps every one of them.

From the head before the rename, with users, keys, sessions and audit events in it,
upgraded on SQLite and PostgreSQL: the rows are found under the new names, the keys
and indexes carry names the models expect, cascades still reach the children, the
audit ids carry on, and downgrading brings back the old tables with the rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from skreg_auth.audit.models import AuditEvent
from skreg_auth.database import Base
from skreg_auth.schema import MIGRATIONS as AUTH_MIGRATIONS
from skreg_auth.users.models import User
from skreg_common.db import UTCDateTime, create_sessionmaker
from skreg_common.migrations import downgrade, upgrade
from sqlalchemy import JSON, Boolean, Integer, String, column, delete, inspect, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import TableClause

from tests.common.test_database import blank_engine  # noqa: F401 - fixture

BEFORE_PREFIX = "3c8e5a7f1b24"
AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
OLD_NAMES = ("users", "api_keys", "refresh_tokens", "audit_events")


def _tables(prefix: str) -> dict[str, TableClause]:
    """The four tables as plain column lists (no model involved), named with `prefix`."""
    return {
        "users": table(
            f"{prefix}users",
            *(column(n, String) for n in ("id", "username", "email", "email_key")),
            *(column(n, String) for n in ("password_hash", "role")),
            column("disabled", Boolean),
            column("token_version", Integer),
            column("created_at", UTCDateTime()),
            column("updated_at", UTCDateTime()),
        ),
        "api_keys": table(
            f"{prefix}api_keys",
            *(column(n, String) for n in ("id", "user_id", "name", "scopes", "secret_hash")),
            column("created_at", UTCDateTime()),
            column("parent_id", String),
        ),
        "refresh_tokens": table(
            f"{prefix}refresh_tokens",
            *(column(n, String) for n in ("id", "family_id", "user_id", "token_hash")),
            column("created_at", UTCDateTime()),
            column("expires_at", UTCDateTime()),
        ),
        "audit_events": table(
            f"{prefix}audit_events",
            column("id", Integer),
            *(column(n, String) for n in ("action", "outcome", "actor_id", "target_id")),
            column("at", UTCDateTime()),
            column("details", JSON),
        ),
    }


def _rows(stamp: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    """Two users, a key and the key it made, a refresh token, three audit events."""
    users = [
        {"id": f"u{n}", "username": f"user{n}", "email": f"user{n}@example.com",
         "email_key": f"user{n}@example.com", "password_hash": "$argon2id$x", "role": role,
         "disabled": False, "token_version": n, "created_at": stamp, "updated_at": stamp}
        for n, role in ((1, "admin"), (2, "user"))
    ]  # fmt: skip
    keys = [
        {"id": "k" * 16, "user_id": "u2", "name": "ci", "scopes": "read publish",
         "secret_hash": "a" * 64, "created_at": stamp, "parent_id": None},
        {"id": "c" * 16, "user_id": "u2", "name": "child", "scopes": "read",
         "secret_hash": "b" * 64, "created_at": stamp, "parent_id": "k" * 16},
    ]  # fmt: skip
    tokens = [
        {"id": "t1", "family_id": "f1", "user_id": "u2", "token_hash": "d" * 64,
         "created_at": stamp, "expires_at": stamp}
    ]  # fmt: skip
    events = [
        {"action": action, "outcome": "success", "actor_id": "u1", "target_id": "u2",
         "at": stamp, "details": {"n": n}}
        for n, action in enumerate(("user.registered", "key.created", "login.succeeded"))
    ]  # fmt: skip
    return {"users": users, "api_keys": keys, "refresh_tokens": tokens, "audit_events": events}


async def _read(engine: AsyncEngine, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the four tables (the columns written), in id order."""
    found = {}
    async with engine.connect() as conn:
        for name, clause in _tables(prefix).items():
            rows = await conn.execute(select(clause).order_by(clause.c.id))
            found[name] = [tuple(row) for row in rows]
    return found


def _schema_report(conn: Connection) -> tuple[set[str], list[Any], dict[str, set[str]]]:
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    diffs = compare_metadata(
        MigrationContext.configure(
            conn,
            opts={
                "include_name": lambda name, kind, _parent: (
                    kind != "table" or name in Base.metadata.tables
                )
            },
        ),
        Base.metadata,
    )
    names: dict[str, set[str]] = {}
    for name in Base.metadata.tables:
        found = {inspector.get_pk_constraint(name)["name"]}
        found |= {ix["name"] for ix in inspector.get_indexes(name)}
        found |= {uq["name"] for uq in inspector.get_unique_constraints(name)}
        found |= {fk["name"] for fk in inspector.get_foreign_keys(name)}
        found |= {ck["name"] for ck in inspector.get_check_constraints(name)}
        names[name] = found
    return tables, diffs, names


def _expected_names(name: str) -> set[str]:
    model = Base.metadata.tables[name]
    return {str(c.name) for c in model.constraints} | {str(ix.name) for ix in model.indexes}


async def test_auth_rows_survive_the_rename_both_ways(
    blank_engine: AsyncEngine,  # noqa: F811
    backend: str,
) -> None:
    await upgrade(blank_engine, [AUTH_MIGRATIONS], BEFORE_PREFIX)
    old = _tables("")
    async with blank_engine.begin() as conn:
        for name, rows in _rows(AT).items():
            await conn.execute(old[name].insert(), rows)
    before = await _read(blank_engine, "")
    assert [len(before[name]) for name in OLD_NAMES] == [2, 2, 1, 3]

    await upgrade(blank_engine, [AUTH_MIGRATIONS])

    assert await _read(blank_engine, "auth_") == before
    async with blank_engine.connect() as conn:
        tables, diffs, names = await conn.run_sync(_schema_report)
    assert not tables & set(OLD_NAMES)
    assert diffs == []  # the migrated schema is exactly what the models declare
    for name, found in names.items():
        assert name.startswith("auth_")
        assert _expected_names(name) <= found, name  # keys, indexes renamed with the table
    if backend == "postgresql":
        async with blank_engine.connect() as conn:
            sequence = await conn.scalar(
                text("SELECT pg_get_serial_sequence('auth_audit_events', 'id')")
            )
        assert sequence == "public.auth_audit_events_id_seq"
    sessions = create_sessionmaker(blank_engine)
    async with sessions() as session, session.begin():
        event = AuditEvent(action="after.rename", outcome="success", details={})
        session.add(event)
        await session.flush()
        assert event.id == 4  # the id sequence carried on
        # The children still point at auth_users, cascade included.
        await session.execute(delete(User).where(User.id == "u2"))
    after = await _read(blank_engine, "auth_")
    assert after["api_keys"] == after["refresh_tokens"] == []
    assert [row[1] for row in after["users"]] == ["user1"]

    await downgrade(blank_engine, [AUTH_MIGRATIONS], BEFORE_PREFIX)
    assert await _read(blank_engine, "") == after
    async with blank_engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert set(OLD_NAMES) <= tables
    assert not {t for t in tables if t.startswith("auth_")}
