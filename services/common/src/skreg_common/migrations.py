"""Alembic, one history per service, each with its own version table, on one shared database.

Migrations always run on a connection we hand to Alembic (`config.attributes`),
so the same code runs inside the embedded app's event loop and from the command line.

On PostgreSQL a migration waits at most LOCK_TIMEOUT for a table lock, then rolls back
and tries again after a backoff. Without this, an ALTER TABLE waiting behind one long
read holds its place in the lock queue, and every read that arrives after it queues
behind the ALTER: the previous release, still serving during an upgrade, would stall.
With a short timeout the migration steps aside instead (see docs/operations.md and
tests/ops/test_upgrade.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from skreg_common.app import ServiceComponent
from skreg_common.runtime import Runtime
from skreg_common.settings import ServiceSettings

log = structlog.get_logger(__name__)

# How long one migration statement may wait for a lock on PostgreSQL before it gives way.
LOCK_TIMEOUT = "250ms"
# Then retried after 0.1, 0.2, 0.4 … s (at most 2 s apart): about a minute in all.
LOCK_ATTEMPTS = 40
LOCK_BACKOFF_S = 0.1
LOCK_BACKOFF_MAX_S = 2.0
LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class MigrationSpec:
    """Where a service's migrations live and which tables and version table are its own."""

    service: str
    script_location: str  # "package:folder", e.g. "skreg_catalog:migrations"
    metadata: MetaData

    @property
    def version_table(self) -> str:
        """The service's own Alembic version table."""
        return f"alembic_version_{self.service}"


def alembic_config(spec: MigrationSpec, connection: Connection | None = None) -> Config:
    """Alembic's config for `spec`, migrating on `connection` (see `run_env`)."""
    cfg = Config()
    cfg.set_main_option("script_location", spec.script_location)
    cfg.attributes["spec"] = spec
    cfg.attributes["connection"] = connection
    return cfg


def run_env(context: Any) -> None:
    """The body of every service's `env.py`: migrate on the handed-in connection."""
    spec: MigrationSpec = context.config.attributes["spec"]
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through skreg_common.migrate, not the alembic CLI")
    context.configure(
        connection=connection,
        target_metadata=spec.metadata,
        version_table=spec.version_table,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
        compare_type=True,
        # Each service sees only its own tables when autogenerating.
        include_name=lambda name, type_, _parent: type_ != "table" or name in spec.metadata.tables,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_upgrade(conn: Connection, spec: MigrationSpec, revision: str) -> None:
    command.upgrade(alembic_config(spec, conn), revision)


def _run_downgrade(conn: Connection, spec: MigrationSpec, revision: str) -> None:
    command.downgrade(alembic_config(spec, conn), revision)


def _lock_not_available(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


async def _migrate_one(
    engine: AsyncEngine,
    run: Callable[[Connection, MigrationSpec, str], None],
    spec: MigrationSpec,
    revision: str,
) -> None:
    """One service's migration in one transaction; on PostgreSQL with a short lock wait,
    the whole transaction retried with backoff when a lock was not granted in time."""
    postgres = engine.dialect.name == "postgresql"
    delay = LOCK_BACKOFF_S
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            async with engine.begin() as conn:
                if postgres:
                    # SET LOCAL: only this transaction; a pooled connection keeps no trace.
                    await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
                await conn.run_sync(run, spec, revision)
            return
        except DBAPIError as exc:
            if not postgres or not _lock_not_available(exc) or attempt == LOCK_ATTEMPTS:
                raise
            log.info("migration.lock_busy", service=spec.service, attempt=attempt, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LOCK_BACKOFF_MAX_S)


async def upgrade(
    engine: AsyncEngine, specs: Sequence[MigrationSpec], revision: str = "head"
) -> None:
    """Upgrade each service's history, in the given order (one transaction per service)."""
    for spec in specs:
        await _migrate_one(engine, _run_upgrade, spec, revision)


async def downgrade(
    engine: AsyncEngine, specs: Sequence[MigrationSpec], revision: str = "base"
) -> None:
    """Downgrade in reverse order, so dependents go first."""
    for spec in reversed(specs):
        await _migrate_one(engine, _run_downgrade, spec, revision)


async def current_revisions(
    engine: AsyncEngine, specs: Sequence[MigrationSpec]
) -> dict[str, str | None]:
    """The revision each service's version table records (None: never migrated)."""

    def read(conn: Connection, spec: MigrationSpec) -> str | None:
        ctx = MigrationContext.configure(conn, opts={"version_table": spec.version_table})
        return ctx.get_current_revision()

    result: dict[str, str | None] = {}
    async with engine.connect() as conn:
        for spec in specs:
            result[spec.service] = await conn.run_sync(read, spec)
    return result


def migration_component(specs: Sequence[MigrationSpec]) -> ServiceComponent:
    """A component that upgrades `specs` at start-up; put it first so others see the schema."""

    async def migrate(runtime: Runtime) -> None:
        await upgrade(runtime.engine, specs)

    return ServiceComponent(name="migrations", route_handlers=[], on_startup=[migrate])


def with_migrations(
    settings: ServiceSettings, specs: Sequence[MigrationSpec], parts: Sequence[ServiceComponent]
) -> list[ServiceComponent]:
    """`parts`, preceded by the migration component when `settings` migrate at start-up.

    First, so every other component starts on an up-to-date schema.
    """
    return [migration_component(specs), *parts] if settings.should_migrate else list(parts)
