"""The contract between the inline SQLite driver and SQLAlchemy's private aiosqlite adapter.

`skreg_common.sqlite_inline` stands in for an aiosqlite connection behind
`sqlalchemy.dialects.sqlite.aiosqlite`, a private adapter that may change in any
SQLAlchemy release. These tests fail loudly when it does: the versions are bounded,
every attribute the adapter reaches on the connection and on the cursor is listed here
and must exist on ours, and the few calls whose shape matters are checked. When one
fails after an upgrade, read the adapter's new source, adapt sqlite_inline.py, update
the lists, and meanwhile run with `SQLITE_DRIVER=aiosqlite`.
"""

from __future__ import annotations

import inspect
import re
import sqlite3
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from skreg_common.db import SqliteDriver, create_engine
from skreg_common.sqlite_inline import InlineConnection, InlineCursor, SQLiteDialect_inline
from sqlalchemy import text
from sqlalchemy.connectors import asyncio as adapter_base
from sqlalchemy.dialects.sqlite import aiosqlite as adapter

PYPROJECT = Path(__file__).resolve().parents[2] / "services" / "common" / "pyproject.toml"

# What SQLAlchemy's adapter touches on the driver connection (`self._connection.X`,
# `connection.cursor()`) and on the driver cursor (`self._cursor.X`, `cursor.__aenter__`).
CONNECTION_USES = {
    "_conn",  # the sqlite3 connection, to set its isolation level
    "_connection",  # truthy while open
    "_tx",  # aiosqlite's request queue: put_nowait((future, function))
    "close",
    "commit",
    "create_function",
    "cursor",
    "isolation_level",
    "rollback",
    "stop",  # terminate (aiosqlite >= 0.22.1)
}
CURSOR_USES = {
    "__aenter__",
    "__aiter__",
    "arraysize",
    "close",
    "description",
    "execute",
    "executemany",
    "fetchall",
    "fetchmany",
    "fetchone",
    "lastrowid",
    "nextset",
    "rowcount",
    "setinputsizes",
}
# Reached only for several result sets from one statement, which SQLite never returns.
NEVER_CALLED_FOR_SQLITE = {"nextset"}


def _uses(classes: tuple[type, ...], *patterns: str) -> set[str]:
    names: set[str] = set()
    for cls in classes:
        source = inspect.getsource(cls)
        for pattern in patterns:
            names |= set(re.findall(pattern + r"\.(\w+)", source))
    return names


@pytest.mark.parametrize("package", ["sqlalchemy", "aiosqlite"])
def test_the_versions_relied_on_are_bounded_and_installed(package: str) -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    requirement = next(Requirement(d) for d in dependencies if Requirement(d).name == package)
    assert any(spec.operator == "<" for spec in requirement.specifier), (
        f"{package} needs an upper bound in {PYPROJECT}: the inline driver relies on it"
    )
    assert requirement.specifier.contains(version(package)), requirement


def test_the_adapter_reaches_only_what_the_inline_connection_has() -> None:
    reached = _uses(
        (
            adapter.AsyncAdapt_aiosqlite_connection,
            adapter_base.AsyncAdapt_dbapi_connection,
            adapter_base.AsyncAdapt_terminate,
        ),
        r"self\._connection",
    ) | _uses((adapter_base.AsyncAdapt_dbapi_cursor,), r"(?<!\.)\bconnection")
    assert reached == CONNECTION_USES, "SQLAlchemy's aiosqlite adapter changed: re-check"
    sqlite = sqlite3.connect(":memory:")
    try:
        ours = InlineConnection(sqlite, busy_timeout_ms=0)
        assert [name for name in sorted(CONNECTION_USES) if not hasattr(ours, name)] == []
    finally:
        sqlite.close()


def test_the_adapter_reaches_only_what_the_inline_cursor_has() -> None:
    cursor_classes = (
        adapter_base.AsyncAdapt_dbapi_cursor,
        adapter_base.AsyncAdapt_dbapi_ss_cursor,
        adapter.AsyncAdapt_aiosqlite_cursor,
        adapter.AsyncAdapt_aiosqlite_ss_cursor,
    )
    reached = _uses(cursor_classes, r"self\._cursor", r"(?<!\.)\bcursor")
    assert reached == CURSOR_USES, "SQLAlchemy's aiosqlite adapter changed: re-check"
    needed = CURSOR_USES - NEVER_CALLED_FOR_SQLITE
    assert [name for name in sorted(needed) if not hasattr(InlineCursor, name)] == []


def test_the_calls_whose_shape_matters() -> None:
    connect = inspect.getsource(adapter.AsyncAdapt_aiosqlite_dbapi.connect)
    assert 'kw.pop("async_creator_fn"' in connect  # how `async_creator` reaches us
    parameters = inspect.signature(adapter_base.AsyncAdapt_dbapi_connection.__init__).parameters
    assert list(parameters) == ["self", "dbapi", "connection"]
    setter = inspect.getsource(adapter.AsyncAdapt_aiosqlite_connection)
    assert "self._connection._tx.put_nowait((future, function))" in setter
    assert "partial(set_iso, self._connection._conn, value)" in setter
    # A second close must say what aiosqlite says, which the adapter maps to a disconnect.
    assert '"connection closed"' in setter
    assert issubclass(SQLiteDialect_inline, adapter.SQLiteDialect_aiosqlite)


@pytest.mark.parametrize("written", ["sqlite", "sqlite+aiosqlite", "sqlite+inline"])
@pytest.mark.parametrize("driver", ["inline", "aiosqlite"])
async def test_database_urls_name_the_file_and_the_setting_the_driver(
    written: str, driver: SqliteDriver, tmp_path: Path
) -> None:
    engine = create_engine(f"{written}:///{tmp_path / 'r.db'}", sqlite_driver=driver)
    try:
        assert engine.url.drivername == f"sqlite+{driver}"
        assert engine.dialect.driver == driver
        assert engine.url.database == str(tmp_path / "r.db")
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert isinstance(raw, InlineConnection) == (driver == "inline")
    finally:
        await engine.dispose()


async def test_the_inline_connection_does_what_the_adapter_asks(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        async with engine.connect() as conn:
            # pysqlite's dialect registers REGEXP on connect (create_function).
            assert (await conn.execute(text("SELECT 'abc' REGEXP 'b'"))).scalar_one() == 1
            raw = (await conn.get_raw_connection()).driver_connection
            assert isinstance(raw, InlineConnection)
            await conn.commit()
            # Isolation levels go through `_tx` onto `_conn`.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            assert raw.isolation_level is None
            # Invalidating terminates the connection through `stop`.
            await conn.invalidate()
            assert raw._connection is None
    finally:
        await engine.dispose()
