"""Throwaway PostgreSQL databases for tests and benchmarks (created, then dropped)."""

from __future__ import annotations

import uuid

import asyncpg


async def create_pg_database(admin_dsn: str, prefix: str) -> str:
    """Create an empty database next to `admin_dsn`'s; returns its asyncpg DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_dsn.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg_database(admin_dsn: str, dsn: str) -> None:
    """Drop a database made by `create_pg_database`, whoever is still connected."""
    name = dsn.rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def sqlalchemy_url(dsn: str) -> str:
    """The SQLAlchemy (asyncpg driver) URL of an asyncpg DSN."""
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
