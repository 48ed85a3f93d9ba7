"""The publish limits as `skreg publish` reports them: the storage quota (413), the rate (429)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from skreg_cli.client import readable_wait
from skreg_cli.errors import ExitCode

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import make_skill, register, run, unique
from tests.conftest import create_pg_database, drop_pg_database

QUOTA_BYTES = 4000
PUBLISHES_PER_HOUR = 2


@pytest.fixture(scope="module")
def limited(
    registry_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A registry of this backend with a small storage quota and publish rate."""
    workdir = tmp_path_factory.mktemp("limited-registry")
    dsn = None
    if registry_backend == "sqlite":
        database = f"sqlite+aiosqlite:///{workdir / 'registry.db'}"
    else:
        dsn = asyncio.run(create_pg_database("skreg_cli_limits"))
        database = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    settings = {
        "STORAGE_QUOTA_BYTES": str(QUOTA_BYTES),
        "PUBLISH_RATE_LIMIT": str(PUBLISHES_PER_HOUR),
        "PUBLISH_RATE_WINDOW": "3600",
        "PURGE_AFTER_DAYS": "30",
    }
    server = RegistryServer(database, workdir, settings=settings).start()
    try:
        yield server
    finally:
        server.stop()
        if dsn is not None:
            asyncio.run(drop_pg_database(dsn))


def _as(monkeypatch: pytest.MonkeyPatch, server: RegistryServer) -> None:
    monkeypatch.setenv("SKREG_URL", server.url)
    monkeypatch.setenv("SKREG_TOKEN", register(server.url).key)


def test_over_the_storage_quota_says_so_and_how_space_comes_back(
    limited: RegistryServer, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    _as(monkeypatch, limited)
    # Small on the wire (it compresses well), large unpacked: the quota counts unpacked bytes.
    big = make_skill(isolated, unique("big"), extra={"references/data.md": "x" * QUOTA_BYTES})
    result = run("publish", str(big))
    assert result.exit_code == ExitCode.REJECTED, result.output
    message, hint = result.stderr.split("hint:", 1)
    assert "storage quota exceeded" in message
    assert "storage quota on this registry is used up" in hint
    assert "freed only once the registry purges them" in hint
    assert "trim the skill" not in result.stderr  # the bundle itself is not too large
    assert "Traceback" not in result.output


def test_the_publish_rate_limit_says_when_to_come_back(
    limited: RegistryServer, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    _as(monkeypatch, limited)
    for _ in range(PUBLISHES_PER_HOUR):
        ok = run("publish", str(make_skill(isolated, unique("small"))))
        assert ok.exit_code == 0, ok.output
    refused = run("publish", str(make_skill(isolated, unique("small"))))
    assert refused.exit_code == ExitCode.RATE_LIMITED, refused.output
    message, hint = refused.stderr.split("hint:", 1)
    assert "publish rate limit" in message
    # An hour's window: minutes and a clock time, not a bare count of seconds.
    assert re.search(r"wait (59 min( \d+ s)?|1 h) \(until \d\d:\d\d\) and retry", hint), hint


def test_readable_wait() -> None:
    now = dt.datetime(2026, 12, 2, 11, 50, 0, tzinfo=dt.UTC)
    assert readable_wait(42, now) == "42 s"
    assert readable_wait(60, now) == "1 min (until 11:51)"
    assert readable_wait(3599, now) == "59 min 59 s (until 12:49)"
    assert readable_wait(7500, now) == "2 h 5 min (until 13:55)"
    assert readable_wait(2 * 86400, now) == "48 h (until 2026-12-04 11:50)"
