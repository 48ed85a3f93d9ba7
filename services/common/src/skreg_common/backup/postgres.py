"""PostgreSQL: `pg_dump --format=custom` on an exported snapshot, `pg_restore` back.

The manifest's row counts are read in a repeatable-read transaction whose snapshot
pg_dump then uses (`--snapshot`), so the counts describe exactly what was dumped.
The password reaches the client tools through `PGPASSWORD`, never their argv (which
every local user can read).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # no stubs; the suite uses it too
from sqlalchemy import make_url

from skreg_common.backup.manifest import BackupError

# asyncpg's `ssl=` query values and the libpq `sslmode` they mean.
SSL_MODES = {"true": "require", "false": "disable"}


def libpq_env(database_url: str) -> tuple[dict[str, str], str]:
    """(environment for pg_dump/pg_restore, asyncpg DSN) for a SQLAlchemy URL."""
    url = make_url(database_url)
    env = {
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGDATABASE": url.database or "",
    }
    if url.username:
        env["PGUSER"] = url.username
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    ssl = url.query.get("ssl") or url.query.get("sslmode")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = SSL_MODES.get(ssl.lower(), ssl)
    dsn = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return env, dsn


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


async def _run(argv: list[str], env: Mapping[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        tail = err.decode(errors="replace").strip()[-2000:]
        raise BackupError(f"{Path(argv[0]).name} failed ({process.returncode}): {tail}")


async def inspect(
    conn: asyncpg.Connection, services: Mapping[str, str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """(each service's revisions, each table's row count) in `conn`'s current snapshot."""
    tables = [
        str(r["tablename"])
        for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
    ]
    counts: dict[str, int] = {}
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM {quoted}"))  # noqa: S608
    schema: dict[str, list[str]] = {}
    for service, table in services.items():
        if table in counts:
            rows = await conn.fetch(f'SELECT version_num FROM "{table}"')  # noqa: S608
            schema[service] = sorted(str(r["version_num"]) for r in rows)
    return schema, counts


async def dump(
    database_url: str, target: Path, services: Mapping[str, str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Dump the database to `target` (custom format); its schema and row counts."""
    env, dsn = libpq_env(database_url)
    pg_dump = _tool("pg_dump")
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            schema, counts = await inspect(conn, services)
            argv = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"]
            await _run(argv, env)
    finally:
        await conn.close()
    return schema, counts


async def target_state(
    database_url: str, services: Mapping[str, str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """What the target database holds now."""
    _, dsn = libpq_env(database_url)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await inspect(conn, services)
    finally:
        await conn.close()


# Everything a registry schema is made of, in the current schema, dropped before a restore
# so the archive's schema replaces it whole (a newer table would otherwise survive).
# Objects an extension owns (pg_trgm's functions) go with it; the dump re-creates it.
DROPS = (
    ("SELECT viewname FROM pg_views WHERE schemaname = current_schema()", "VIEW"),
    ("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()", "TABLE"),
    (
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()",
        "SEQUENCE",
    ),
    (
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd') AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')",
        "TYPE",
    ),
    (
        "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.prokind = 'f' AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')",
        "FUNCTION",
    ),
)


async def wipe(database_url: str) -> None:
    """Drop every view, table, sequence, type and function of the current schema."""
    _, dsn = libpq_env(database_url)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for query, kind in DROPS:
                for row in await conn.fetch(query):
                    name = str(row[0])
                    if kind == "FUNCTION":  # name(args): quote the name, keep the signature
                        bare, args = name.split("(", 1)
                        target = f'"{bare}"({args}'
                    else:
                        target = '"' + name.replace('"', '""') + '"'
                    await conn.execute(f"DROP {kind} IF EXISTS {target} CASCADE")
    finally:
        await conn.close()


async def load(dump_file: Path, database_url: str) -> dict[str, int]:
    """Restore `dump_file` into the (wiped) database in one transaction; its row counts."""
    env, _ = libpq_env(database_url)
    argv = [
        _tool("pg_restore"),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        f"--dbname={env['PGDATABASE']}",
        str(dump_file),
    ]
    await _run(argv, env)
    return (await target_state(database_url, {}))[1]
