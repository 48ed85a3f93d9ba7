"""The database tests here run on both SQLite drivers (`SQLITE_DRIVER`).

`inline` is the default every other test uses; `aiosqlite` is the way back should a
SQLAlchemy upgrade break the inline driver, so it must keep working too. A module opts
in by overriding `sqlite_driver` with `each_sqlite_driver`. PostgreSQL has no SQLite
driver: its `[aiosqlite]` twins are deselected (they would run the same test twice).
"""

from __future__ import annotations

import pytest
from skreg_common.db import SqliteDriver

DRIVERS: list[SqliteDriver] = ["inline", "aiosqlite"]


@pytest.fixture(params=DRIVERS)
def each_sqlite_driver(request: pytest.FixtureRequest) -> SqliteDriver:
    """Each SQLite driver in turn."""
    driver: SqliteDriver = request.param
    return driver


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the PostgreSQL twins of the driver parameter."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        twin = (
            params.get("backend") == "postgresql"
            and params.get("each_sqlite_driver") == "aiosqlite"
        )
        (dropped if twin else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
