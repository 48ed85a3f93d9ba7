"""`python -m skreg_catalog.purge [--dry-run] [--days N]`: purge long-deleted skills' content.

An admin step like `make migrate`, run where `DATABASE_URL` reaches the database
(cron, a compose job, `make purge`). Versions deleted more than `PURGE_AFTER_DAYS`
(or `--days`) ago lose their stored content, and their blobs are emptied unless a
version still needed refers to the same digest. `--dry-run` reports and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import ClassVar

from skreg_common.db import create_engine, create_sessionmaker
from skreg_common.logging import configure_logging
from skreg_common.serve import load_or_exit

from skreg_catalog.purge.service import PurgeReport, purge
from skreg_catalog.settings import CatalogSettings


class PurgeSettings(CatalogSettings, frozen=True, kw_only=True):
    """The catalog's settings; purging signs nothing, so no signing key is needed here."""

    signs_versions: ClassVar[bool] = False


def _summary(report: PurgeReport, *, dry_run: bool) -> str:
    verb = "would purge" if dry_run else "purged"
    return (
        f"{verb} {report.versions} version(s) of {report.skills} skill(s) deleted before "
        f"{report.cutoff.isoformat(timespec='seconds')} ({report.version_bytes} bytes unpacked) "
        f"and {report.blobs} blob(s) ({report.blob_bytes} bytes)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, purge, print one summary line (and the blobs' digests)."""
    settings = load_or_exit(PurgeSettings)
    parser = argparse.ArgumentParser(prog="python -m skreg_catalog.purge", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="report only; change nothing")
    parser.add_argument(
        "--days",
        type=int,
        default=settings.purge_after_days,
        help=f"retention in days (default: PURGE_AFTER_DAYS, {settings.purge_after_days})",
    )
    args = parser.parse_args(argv)
    if args.days < 0:
        parser.error("--days must be 0 or more")
    configure_logging(settings.log_level, settings.log_json)

    async def run() -> PurgeReport:
        engine = create_engine(settings.database_url, sqlite_driver=settings.sqlite_driver)
        try:
            return await purge(
                create_sessionmaker(engine), older_than_days=args.days, dry_run=args.dry_run
            )
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    print(_summary(report, dry_run=args.dry_run))
    for digest in report.blob_digests:
        print(f"  {digest}")


if __name__ == "__main__":
    main()
