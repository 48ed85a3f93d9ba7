"""Create and restore archives (the command line in __main__ is a thin shell over these)."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skreg_common.backup import postgres, sqlite
from skreg_common.backup.manifest import (
    Backend,
    BackupError,
    Manifest,
    extract_verified,
    read_manifest,
    sha256_of,
    write_archive,
)
from skreg_common.backup.schema import (
    behind_code,
    describe,
    unknown_to_code,
    version_tables,
)
from skreg_common.db import is_sqlite, sqlite_location
from skreg_common.migrations import MigrationSpec

SECRETS_FILE = ".skreg-secrets.json"  # skreg_gateway.localsecrets writes it beside the file
DATABASE_MEMBER = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
SECRETS_MEMBER = "secrets.json"
# Exit codes: 1 any failure, 3 refused to overwrite data, 4 refused a schema mismatch.
EXIT_NOT_EMPTY = 3
EXIT_SCHEMA = 4


def backend_of(database_url: str) -> Backend:
    """Which backend a DATABASE_URL names."""
    return "sqlite" if is_sqlite(database_url) else "postgresql"


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite DATABASE_URL (in-memory and URI databases cannot be backed up)."""
    location, is_uri = sqlite_location(database_url)
    if is_uri or location == ":memory:":
        raise BackupError(f"{database_url}: only a SQLite file can be backed up or restored")
    return Path(location)


ARCHIVE_GLOB = "skreg-*.tar*"


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest archives in `folder` (their names sort by time)."""
    archives = sorted(folder.glob(ARCHIVE_GLOB))
    doomed = archives[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def newest_archive_age(folder: Path, now: float) -> float | None:
    """Seconds since the newest archive in `folder` was written (None: there is none)."""
    stamps = [path.stat().st_mtime for path in folder.glob(ARCHIVE_GLOB)]
    return now - max(stamps) if stamps else None


def default_archive_name(backend: Backend, now: dt.datetime) -> str:
    """`skreg-<backend>-<UTC time>.tar[.gz]`, which sorts by time."""
    suffix = ".tar.gz" if backend == "sqlite" else ".tar"
    return f"skreg-{backend}-{now.strftime('%Y%m%dT%H%M%SZ')}{suffix}"


async def create_backup(
    database_url: str, specs: Sequence[MigrationSpec], target: Path
) -> Manifest:
    """Write an archive of the database at `database_url` to `target`."""
    backend = backend_of(database_url)
    services = version_tables(specs)
    now = dt.datetime.now(dt.UTC)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skreg-backup-", dir=target.parent) as scratch:
        member = DATABASE_MEMBER[backend]
        dump_file = Path(scratch) / member
        files = {member: dump_file}
        if backend == "sqlite":
            database = sqlite_path(database_url)
            schema, counts = sqlite.snapshot(database, dump_file, services)
            secrets = database.resolve().parent / SECRETS_FILE
            if secrets.exists():
                files[SECRETS_MEMBER] = secrets
        else:
            schema, counts = await postgres.dump(database_url, dump_file, services)
        manifest = Manifest(
            backend=backend,
            created_at=now,
            schema=schema,
            row_counts=counts,
            members={name: sha256_of(path) for name, path in files.items()},
        )
        write_archive(target, manifest, files)
    return manifest


@dataclass
class RestoreReport:
    """What a restore did, for the operator."""

    manifest: Manifest
    row_counts: dict[str, int]
    replaced_rows: int
    notes: list[str] = field(default_factory=list)


def _data_rows(counts: dict[str, int], specs: Sequence[MigrationSpec]) -> int:
    """Rows in the services' own tables: not Alembic's, not a search index's internals
    (a freshly migrated database has a few of those and nothing to lose)."""
    tables = {name for spec in specs for name in spec.metadata.tables}
    return sum(n for table, n in counts.items() if table in tables)


async def restore_backup(
    archive: Path,
    database_url: str,
    specs: Sequence[MigrationSpec],
    *,
    force: bool = False,
    allow_schema_mismatch: bool = False,
) -> RestoreReport:
    """Replace the database at `database_url` with `archive`'s (see the package docstring)."""
    manifest = read_manifest(archive)
    backend = backend_of(database_url)
    if manifest.backend != backend:
        raise BackupError(
            f"{archive} is a {manifest.backend} backup; DATABASE_URL names {backend} "
            "(move data between backends with a fresh import, not a restore)"
        )
    services = version_tables(specs)
    unknown = unknown_to_code(manifest.schema, specs)
    if unknown and not allow_schema_mismatch:
        raise BackupError(
            "the archive's schema is newer than this release or unknown to it: "
            + "; ".join(unknown)
            + " (restore with the release that made it, or pass --allow-schema-mismatch)",
            EXIT_SCHEMA,
        )
    if backend == "sqlite":
        database = sqlite_path(database_url)
        current_schema, current_counts = sqlite.target_state(database, services)
    else:
        current_schema, current_counts = await postgres.target_state(database_url, services)
    if current_schema and current_schema != manifest.schema and not allow_schema_mismatch:
        raise BackupError(
            f"the target database's schema ({describe(current_schema)}) differs from the "
            f"archive's ({describe(manifest.schema)}); pass --allow-schema-mismatch to "
            "replace it anyway",
            EXIT_SCHEMA,
        )
    existing = _data_rows(current_counts, specs)
    if existing and not force:
        raise BackupError(
            f"the target database is not empty ({existing} rows); pass --force to replace "
            "everything in it with the archive",
            EXIT_NOT_EMPTY,
        )
    with tempfile.TemporaryDirectory(prefix="skreg-restore-") as scratch:
        files = extract_verified(archive, manifest, Path(scratch))
        dump_file = files[DATABASE_MEMBER[backend]]
        notes: list[str] = []
        if backend == "sqlite":
            _restore_secrets(files.get(SECRETS_MEMBER), database, force, notes)
            restored = sqlite.load(dump_file, database)
        else:
            await postgres.wipe(database_url)
            restored = await postgres.load(dump_file, database_url)
    if restored != manifest.row_counts:
        differing = sorted(
            t
            for t in set(restored) | set(manifest.row_counts)
            if restored.get(t) != manifest.row_counts.get(t)
        )
        raise BackupError(f"restored row counts differ from the archive's in {differing}")
    behind = behind_code(manifest.schema, specs)
    if behind and not unknown:
        notes.append(
            f"schema of {', '.join(behind)} is older than this release: run "
            "`python -m skreg_common.migrate upgrade` (SQLite upgrades at start-up)"
        )
    return RestoreReport(manifest, restored, existing, notes)


def _restore_secrets(source: Path | None, database: Path, force: bool, notes: list[str]) -> None:
    """Put the archived local secrets file beside the database (never silently replace one)."""
    if source is None:
        return
    target = database.resolve().parent / SECRETS_FILE
    data = source.read_bytes()
    if target.exists() and target.read_bytes() != data and not force:
        raise BackupError(
            f"{target} holds other secrets than the archive's; pass --force to replace it",
            EXIT_NOT_EMPTY,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restore")
    partial.write_bytes(data)
    partial.chmod(0o600)
    partial.replace(target)
    notes.append(f"local secrets restored to {target}")
