"""Zero-downtime upgrade: the previous release keeps serving reads on PostgreSQL while the
current release's migrations run (`python -m skreg_common.migrate upgrade`).

The previous release is the code before the last merge that added migrations
(PREVIOUS_RELEASE, the parent of the organizations merge, whose migrations add columns
and indexes to the catalog's and auth's tables). Its source is taken with `git archive`
into a temporary folder and run with this venv's packages, its own source first on
PYTHONPATH: the two releases' locks differ only by added test tools, so a second venv
would cost a minute of the suite for nothing it proves (see tests/support/checkout.py).

A long read (a report, a backup's COPY) holds a lock on `catalog_skills` when the
migration starts. Without a lock timeout, the migration's ALTER TABLE would queue
behind it, and every read of the old release would queue behind the ALTER: seconds of
stalled reads. With skreg_common.migrations' short lock_timeout the migration steps
aside and retries, and no read fails or waits longer than READ_TIMEOUT_S.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis import Redis as SyncRedis

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.factories import new_user, publish_skill
from tests.support.processes import Process, free_port, shared_env, start, wait_http

REPO = Path(__file__).resolve().parents[2]
# The organizations merge (c424040) is the latest to add migrations; its parent is the
# release before it.
PREVIOUS_RELEASE = "18a9ad2"
READ_TIMEOUT_S = 2.0
LONG_READ_S = 3.0
READERS = 4
SKILLS = ("upgrade-alpha", "upgrade-beta", "upgrade-gamma")


@dataclass
class OldRelease:
    catalog: str
    auth: str
    processes: list[Process]
    dsn: str
    env: dict[str, str]


@dataclass
class Reads:
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    slowest_s: float = 0.0


def _checkout_previous(target: Path) -> list[str]:
    """The previous release's source under `target`; its packages' source folders."""
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE, "proto", "services", "gateway"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True, timeout=60)
    return [str(p) for p in sorted(target.glob("**/src")) if p.is_dir()]


def _migrate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skreg_common.migrate", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OldRelease]:
    workdir = tmp_path_factory.mktemp("upgrade")
    sources = _checkout_previous(workdir / "previous")
    dsn = asyncio.run(create_pg_database("skreg_upgrade"))
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    common = shared_env(
        url,
        REDIS_URL,
        PUBLISH_RATE_LIMIT="0",
        READ_CACHE_TTL="0",  # every read goes to the database, as a cold replica's would
        REGISTRATION_OPEN="true",
    )
    # The old source first: its packages shadow this release's editable installs.
    old_env = {**common, "PYTHONPATH": os.pathsep.join(sources)}
    migrated = _migrate(old_env, "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    processes: list[Process] = []
    try:
        auth = f"http://127.0.0.1:{free_port()}"
        catalog = f"http://127.0.0.1:{free_port()}"
        # Both started at once, then waited on: their imports overlap.
        for name, module, base, extra in (
            ("old-auth", "skreg_auth", auth, {}),
            ("old-catalog", "skreg_catalog", catalog, {"AUTH_URL": auth}),
        ):
            env = {**old_env, "PORT": base.rsplit(":", 1)[1], **extra}
            processes.append(start(name, [sys.executable, "-m", module], env, workdir))
        for process, base in zip(processes, (auth, catalog), strict=True):
            wait_http(process, f"{base}/ready", timeout=90)
        for process in processes:  # really the previous release's code
            assert str(workdir / "previous") in Path(
                f"/proc/{process.popen.pid}/environ"
            ).read_text(errors="replace")
        yield OldRelease(catalog, auth, processes, dsn, common)
    finally:
        for process in reversed(processes):
            process.stop()
        asyncio.run(drop_pg_database(dsn))
        # The registration and publish counters of this test stay out of later ones.
        with SyncRedis.from_url(REDIS_URL) as redis:
            redis.flushdb()


async def _seed(old: OldRelease) -> None:
    async with (
        httpx.AsyncClient(base_url=old.auth, timeout=30) as auth,
        httpx.AsyncClient(base_url=old.catalog, timeout=30) as catalog,
    ):
        user = await new_user(auth, "upgrader")
        for name in SKILLS:
            await publish_skill(catalog, name, "1.0.0", user.headers, description=f"{name} skill")


async def _read_loop(base: str, stop: asyncio.Event, reads: Reads, worker: int) -> None:
    paths = []
    for name in SKILLS:
        skill = f"/api/v1/skills/upgrader/{name}"
        paths += [skill, f"{skill}/versions", f"{skill}/versions/1.0.0/download"]
    paths += ["/api/v1/skills?q=skill", "/api/v1/skills"]
    async with httpx.AsyncClient(base_url=base, timeout=READ_TIMEOUT_S) as client:
        index = worker
        while not stop.is_set():
            path = paths[index % len(paths)]
            index += 1
            started = time.monotonic()
            try:
                response = await client.get(path)
            except httpx.HTTPError as exc:
                reads.failed.append(f"{path}: {exc!r}")
                continue
            reads.slowest_s = max(reads.slowest_s, time.monotonic() - started)
            if response.status_code == 200:
                reads.ok += 1
            else:
                reads.failed.append(f"{path}: HTTP {response.status_code} {response.text[:200]}")


async def _long_read(dsn: str, holding: asyncio.Event) -> None:
    """A transaction that reads `catalog_skills` and stays open until the migration has
    met its lock (an ALTER seen waiting), then LONG_READ_S longer."""
    conn = await asyncpg.connect(dsn)
    watcher = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.fetchval("SELECT count(*) FROM catalog_skills")
            holding.set()
            deadline = time.monotonic() + 90  # the migrate command's start-up is slow
            while time.monotonic() < deadline:
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND query ILIKE 'ALTER TABLE%'"
                )
                if waiting:
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the migration never waited for the long read's lock")
            await asyncio.sleep(LONG_READ_S)
    finally:
        await watcher.close()
        await conn.close()


def test_the_previous_release_serves_every_read_while_migrations_run(
    old_release: OldRelease,
) -> None:
    reads = Reads()

    async def scenario() -> tuple[int, str, float]:
        await _seed(old_release)
        stop = asyncio.Event()
        readers = [
            asyncio.create_task(_read_loop(old_release.catalog, stop, reads, n))
            for n in range(READERS)
        ]
        await asyncio.sleep(0.5)  # reads flowing before anything changes
        holding = asyncio.Event()
        long_read = asyncio.create_task(_long_read(old_release.dsn, holding))
        await holding.wait()
        started = time.monotonic()
        # The current release's migrations (no PYTHONPATH: this checkout's code).
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "skreg_common.migrate",
            "upgrade",
            env={**os.environ, **old_release.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(migrate.communicate(), timeout=120)
        took = time.monotonic() - started
        await long_read
        await asyncio.sleep(0.5)  # and the old release still reads the migrated schema
        stop.set()
        await asyncio.gather(*readers)
        return migrate.returncode or 0, output.decode(errors="replace"), took

    code, output, took = asyncio.run(scenario())
    print(
        f"\nupgrade under reads: {reads.ok} reads ok, {len(reads.failed)} failed, "
        f"slowest {reads.slowest_s * 1000:.0f} ms, migration {took:.1f} s "
        f"({output.count('migration.lock_busy')} lock waits given up)"
    )
    assert code == 0, output
    assert reads.failed == [], reads.failed[:10]
    # The migration met the long read's lock and stepped aside at least once.
    assert "migration.lock_busy" in output, output
    assert reads.ok > 50
    # The organizations migration is applied: its column is there.
    assert asyncio.run(_has_column(old_release.dsn, "catalog_skills", "visibility"))


async def _has_column(dsn: str, table: str, column: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = $1 AND column_name = $2",
            table,
            column,
        )
    finally:
        await conn.close()
    return bool(found)
