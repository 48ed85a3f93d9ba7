"""Run every service's migrations against one database: `python -m skreg_gateway.migrate upgrade`.

Order matters only for downgrades; services never reference each other's tables.
"""

from __future__ import annotations

import os

from skreg_auth.schema import MIGRATIONS as AUTH
from skreg_catalog.schema import MIGRATIONS as CATALOG
from skreg_common.migrations import MigrationSpec, main
from skreg_common.settings import DEFAULT_DATABASE_URL
from skreg_importer.schema import MIGRATIONS as IMPORTER

ALL_MIGRATIONS: tuple[MigrationSpec, ...] = (AUTH, CATALOG, IMPORTER)


if __name__ == "__main__":
    main(ALL_MIGRATIONS, os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
