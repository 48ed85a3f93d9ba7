"""`WEB_CONCURRENCY`: N server processes per container, supervised, on PostgreSQL + Redis.

A real auth service runs with two workers: both answer on the one port, a SIGKILLed
worker is replaced while the other keeps serving, and a write through either is read
through the other. Without PostgreSQL and Redis, where processes could not share
caches, throttles and the queue, the setting is refused at start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis as SyncRedis

from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database
from tests.support.factories import AUTH, new_user, sign_in
from tests.support.processes import Process, free_port, start_python_module, wait_http

SECRETS = {"SECRET_KEY": "k" * 40, "SERVICE_SECRET": "s" * 40}
LOGIN_MAX_FAILURES = 6


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _wait_workers(pid: int, count: int, timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = {c for c in _children(pid) if Path(f"/proc/{c}").exists()}
        # multiprocessing's resource tracker is a child too; workers run our module
        workers = {
            c
            for c in children
            if b"multiprocessing.spawn" in Path(f"/proc/{c}/cmdline").read_bytes()
        }
        if len(workers) == count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"expected {count} workers under {pid}, saw {_children(pid)}")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    dsn = asyncio.run(create_pg_database("skreg_workers"))
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    migrate = subprocess.run(
        [sys.executable, "-m", "skreg_common.migrate", "upgrade"],
        env={**os.environ, "DATABASE_URL": url, **SECRETS},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    yield url
    asyncio.run(drop_pg_database(dsn))


@pytest.fixture(scope="module")
def auth_two_workers(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Process, str]]:
    port = free_port()
    env = {
        "DATABASE_URL": pg_url,
        "REDIS_URL": REDIS_URL,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "AUTO_MIGRATE": "false",
        "LOG_JSON": "true",
        "REGISTRATION_OPEN": "true",
        "LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        **SECRETS,
    }
    # The throttle test leaves sign-in failures of 127.0.0.1 counted in Redis: start
    # from, and leave behind, an empty test database so no other test inherits them.
    redis = SyncRedis.from_url(REDIS_URL)
    redis.flushdb()
    process = start_python_module("auth", "skreg_auth", env, tmp_path_factory.mktemp("workers"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(process, f"{base}/ready", timeout=60)
        yield process, base
    finally:
        process.stop()
        redis.flushdb()
        redis.close()


def test_two_workers_serve_one_port_and_a_killed_one_is_replaced(
    auth_two_workers: tuple[Process, str],
) -> None:
    process, base = auth_two_workers
    first = _wait_workers(process.popen.pid, 2)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    failures = 0
    deadline = time.monotonic() + 30
    replaced: set[int] = set()
    while time.monotonic() < deadline:
        # fresh connections, so the kernel spreads them over the workers
        try:
            failures += httpx.get(f"{base}/health", timeout=5).status_code != 200
        except httpx.TransportError:
            failures += 1
        replaced = _wait_workers(process.popen.pid, 2)
        if victim not in replaced:
            break
    assert victim not in replaced, "the supervisor did not replace the killed worker"
    assert failures <= 1, f"{failures} failed requests while one worker was down"
    assert "service.starting" in process.log()
    assert '"workers": 2' in process.log() or '"workers":2' in process.log()


def test_a_write_through_one_worker_is_read_through_any(
    auth_two_workers: tuple[Process, str],
) -> None:
    _, base = auth_two_workers

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            user = await new_user(client, "worker-writer")
        for _ in range(20):  # new connections land on either worker
            async with httpx.AsyncClient(base_url=base, timeout=30) as fresh:
                tokens = await sign_in(fresh, user.username, user.password)
                me = await fresh.get(
                    f"{AUTH}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
                )
                assert me.status_code == 200, me.text
                assert me.json()["username"] == "worker-writer"

    asyncio.run(scenario())


def test_the_sign_in_throttle_counts_across_workers(
    auth_two_workers: tuple[Process, str],
) -> None:
    # Failures on fresh connections land on both workers; a per-process counter would
    # allow twice as many before the 429.
    _, base = auth_two_workers

    async def scenario() -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await new_user(client, "throttled-one")
        statuses = []
        for _ in range(LOGIN_MAX_FAILURES + 2):
            async with httpx.AsyncClient(base_url=base, timeout=30) as fresh:
                answer = await fresh.post(
                    f"{AUTH}/login", json={"username": "throttled-one", "password": "wrong-pass"}
                )
                statuses.append(answer.status_code)
        return statuses

    statuses = asyncio.run(scenario())
    assert statuses[:LOGIN_MAX_FAILURES] == [401] * LOGIN_MAX_FAILURES, statuses
    assert statuses[LOGIN_MAX_FAILURES:] == [429, 429], statuses


@pytest.mark.parametrize(
    ("database_url", "redis_url"),
    [("sqlite:///./never.db", REDIS_URL), ("postgresql+asyncpg://x@127.0.0.1/x", "")],
    ids=["sqlite", "no-redis"],
)
def test_several_workers_need_postgresql_and_redis(database_url: str, redis_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "skreg_catalog"],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "WEB_CONCURRENCY": "3",
            "PORT": str(free_port()),
            **SECRETS,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "WEB_CONCURRENCY above 1 needs PostgreSQL" in result.stderr
