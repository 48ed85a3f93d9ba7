"""Embedded SQLite mode (`make run`: one process, SQLite, in-process queue): 32 publishers
at once all succeed, none timing out or meeting "database is locked" (issue #17).

A real server process and real HTTP, so the writes really overlap as users' would; the
p99 of these publishes is a figure of bench/bench_publish.py, not asserted here.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.factories import bearer, new_user, publish_bundle, skill_bundle
from tests.support.processes import Process, free_port, make_run_env, start, wait_http

PUBLISHERS = 32
BUNDLE_BYTES = 50 * 1024  # incompressible, so the bundle is ~50 KB on the wire too


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process: Process = start(
        "embedded", [sys.executable, "-m", "skreg_gateway"], make_run_env(tmp_path, port), tmp_path
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(process, f"{url}/health", timeout=60)
        yield url
        assert "database is locked" not in process.log()
    finally:
        process.stop()


async def test_32_concurrent_publishers_all_succeed(embedded: str) -> None:
    async with httpx.AsyncClient(
        base_url=embedded, timeout=60, limits=httpx.Limits(max_connections=PUBLISHERS)
    ) as client:
        users = [await new_user(client, f"publisher{i}") for i in range(4)]
        bundles = [
            skill_bundle(f"load-{i}", files={"data.bin": os.urandom(BUNDLE_BYTES)})
            for i in range(PUBLISHERS)
        ]

        async def one(i: int) -> httpx.Response:
            headers = bearer(users[i % len(users)].tokens["access_token"])
            return await publish_bundle(client, bundles[i], headers, version="1.0.0")

        responses = await asyncio.gather(*(one(i) for i in range(PUBLISHERS)))
        failures = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 201]
        assert failures == []
        listed = await client.get("/api/v1/skills", params={"limit": 100})
        assert listed.json()["total"] == PUBLISHERS
