"""SQLite: the online backup API copies a consistent snapshot while the registry writes.

`Connection.backup` with all pages in one step holds one read transaction: in WAL mode
(skreg_common.db) writers go on meanwhile, and the copy is the database as of the
moment that transaction began. Restoring goes through the same API into the target,
so the target's WAL and shared-memory files stay consistent with what is restored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path

from skreg_common.backup.manifest import BackupError

BUSY_TIMEOUT_S = 30.0


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [str(name) for (name,) in rows]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def inspect(
    conn: sqlite3.Connection, services: Mapping[str, str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """(each service's revisions, each table's row count) of one consistent read."""
    counts: dict[str, int] = {}
    for table in _tables(conn):
        query = f"SELECT count(*) FROM {_quoted(table)}"  # noqa: S608 - names from sqlite_master
        counts[table] = int(conn.execute(query).fetchone()[0])
    schema: dict[str, list[str]] = {}
    for service, table in services.items():
        if table in counts:
            query = f"SELECT version_num FROM {_quoted(table)}"  # noqa: S608 - our own table
            schema[service] = sorted(str(rev) for (rev,) in conn.execute(query).fetchall())
    return schema, counts


def snapshot(
    database: Path, target: Path, services: Mapping[str, str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Copy `database` to `target` consistently; the copy's schema and row counts."""
    if not database.exists():
        raise BackupError(f"{database}: no such SQLite database")
    with (
        closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_S)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)  # pages=-1: the whole database in one read transaction
    with closing(sqlite3.connect(target)) as copy:
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
        return inspect(copy, services)


def target_state(
    database: Path, services: Mapping[str, str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """What `database` holds now (nothing when the file does not exist)."""
    if not database.exists():
        return {}, {}
    with closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_S)) as conn:
        return inspect(conn, services)


def load(copy: Path, database: Path) -> dict[str, int]:
    """Replace `database`'s content with `copy`'s; the restored row counts."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(copy)) as source,
        closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_S)) as target,
    ):
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")  # how the registry opens it (skreg_common.db)
        return inspect(target, {})[1]
