"""A few service processes on one fresh PostgreSQL database and the test Redis.

For tests that prove state is shared between replicas: each process is started with
`Fleet.start` (an HTTP service, waited on until `/ready` answers) or `Fleet.spawn` (a
worker without a port). Everything is stopped, the database dropped and the Redis
database flushed when the `fleet` context ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis as SyncRedis

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.processes import (
    Process,
    free_port,
    migrate,
    shared_env,
    start_python_module,
    wait_http,
)


@dataclass
class Fleet:
    """The processes started so far, their shared settings, and the database's DSN."""

    workdir: Path
    dsn: str  # asyncpg form, for direct checks
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, module: str, **extra: str) -> str:
        """Start `python -m module` on a free port; its base URL once `/ready` answers."""
        return self.start_all([(name, module, extra)])[0]

    def start_all(self, services: list[tuple[str, str, dict[str, str]]]) -> list[str]:
        """Start every (name, module, extra settings) at once, then wait for each: the
        imports of several processes overlap instead of adding up. Their base URLs."""
        started = []
        for name, module, extra in services:
            port = int(extra.get("PORT") or free_port())  # a port chosen ahead, or any
            env = {**self.env, **extra, "PORT": str(port)}
            process = start_python_module(name, module, env, self.workdir)
            self.processes.append(process)
            started.append((process, f"http://127.0.0.1:{port}"))
        for process, base in started:
            wait_http(process, f"{base}/ready", timeout=90)
        return [base for _, base in started]

    def spawn(self, name: str, module: str, **extra: str) -> Process:
        """Start `python -m module` without a port (a worker)."""
        process = start_python_module(name, module, {**self.env, **extra}, self.workdir)
        self.processes.append(process)
        return process


@contextmanager
def fleet(workdir: Path, prefix: str, **settings: str) -> Iterator[Fleet]:
    """A migrated PostgreSQL database named after `prefix`, Redis, and the settings every
    process gets (`settings` on top of `shared_env`'s)."""
    dsn = asyncio.run(create_pg_database(prefix))
    env = shared_env(
        dsn.replace("postgresql://", "postgresql+asyncpg://", 1), REDIS_URL, **settings
    )
    opened = Fleet(workdir, dsn, env)
    _flush_redis()  # counters an earlier test left (same client address) would count here
    try:
        migrate(env)
        yield opened
    finally:
        for process in reversed(opened.processes):
            process.stop()
        asyncio.run(drop_pg_database(dsn))
        # Throttle counters and queued jobs of these processes stay out of later tests.
        _flush_redis()


def _flush_redis() -> None:
    """Empty this xdist worker's own Redis database (tests.conftest.REDIS_URL)."""
    with SyncRedis.from_url(REDIS_URL) as redis:
        redis.flushdb()
