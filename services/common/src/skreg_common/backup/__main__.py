"""`python -m skreg_common.backup create|restore|inspect|schedule` (`make backup` / `make restore`).

The database comes from `DATABASE_URL`, like every service's (and with the same checks).
Exit status: 0 done, 1 failed, 2 bad usage or settings, 3 refused to overwrite data
(`--force`), 4 refused a schema mismatch (`--allow-schema-mismatch`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from skreg_common.backup.manifest import BackupError, read_manifest
from skreg_common.backup.operations import (
    backend_of,
    create_backup,
    default_archive_name,
    prune,
    restore_backup,
)
from skreg_common.backup.schema import describe
from skreg_common.backup.settings import BackupSettings
from skreg_common.migrate import installed_migrations
from skreg_common.serve import load_or_exit


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skreg_common.backup", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="write an archive of DATABASE_URL")
    where = create.add_mutually_exclusive_group()
    where.add_argument("--output", "-o", type=Path, help="the archive's path")
    where.add_argument("--dir", type=Path, help="folder for a time-named archive (BACKUP_DIR)")
    restore = sub.add_parser("restore", help="replace DATABASE_URL's content with an archive")
    restore.add_argument("archive", type=Path)
    restore.add_argument("--force", action="store_true", help="replace a non-empty database")
    restore.add_argument(
        "--allow-schema-mismatch",
        action="store_true",
        help="restore even though the schemas differ (then run migrate upgrade)",
    )
    inspect = sub.add_parser("inspect", help="print an archive's manifest")
    inspect.add_argument("archive", type=Path)
    schedule = sub.add_parser("schedule", help="back up every INTERVAL seconds, keep KEEP")
    schedule.add_argument("--dir", type=Path, help="BACKUP_DIR")
    schedule.add_argument("--every", type=float, help="seconds (BACKUP_INTERVAL)")
    schedule.add_argument("--keep", type=int, help="archives kept (BACKUP_KEEP)")
    schedule.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)  # tests
    return parser


def create(database_url: str, target: Path) -> Path:
    """One archive at `target`; prints what it holds."""
    manifest = asyncio.run(create_backup(database_url, installed_migrations(), target))
    rows = sum(manifest.row_counts.values())
    print(
        f"backup written: {target} ({manifest.backend}, {rows} rows, {describe(manifest.schema)})"
    )
    return target


def schedule(database_url: str, folder: Path, every: float, keep: int, count: int) -> None:
    """Back up now and every `every` seconds, keeping `keep`; a failed round is retried
    at the next interval rather than ending the loop (the container keeps running)."""
    done = 0
    while True:
        started = time.monotonic()
        name = default_archive_name(backend_of(database_url), dt.datetime.now(dt.UTC))
        try:
            create(database_url, folder / name)
            for path in prune(folder, keep):
                print(f"old backup removed: {path}")
        except (BackupError, OSError) as exc:
            print(f"skreg: backup failed: {exc}", file=sys.stderr)
        done += 1
        if count and done >= count:
            return
        time.sleep(max(0.0, every - (time.monotonic() - started)))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "inspect":
            manifest = read_manifest(args.archive)
            print(msgspec.json.format(msgspec.json.encode(manifest)).decode())
            return 0
        settings = load_or_exit(BackupSettings)
        folder = getattr(args, "dir", None) or Path(settings.backup_dir)  # create, schedule
        if args.command == "create":
            name = default_archive_name(backend_of(settings.database_url), dt.datetime.now(dt.UTC))
            create(settings.database_url, args.output or folder / name)
        elif args.command == "schedule":
            every = args.every or settings.backup_interval
            keep = args.keep or settings.backup_keep
            schedule(settings.database_url, folder, every, keep, args.count)
        else:
            report = asyncio.run(
                restore_backup(
                    args.archive,
                    settings.database_url,
                    installed_migrations(),
                    force=args.force,
                    allow_schema_mismatch=args.allow_schema_mismatch,
                )
            )
            rows = sum(report.row_counts.values())
            made = report.manifest.created_at.isoformat(timespec="seconds")
            print(f"restored {args.archive} (made {made}): {rows} rows, every count checked")
            for note in report.notes:
                print(f"note: {note}")
    except BackupError as exc:
        print(f"skreg: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
