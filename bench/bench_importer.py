"""Importer benchmark: a 1,000-skill repository end to end, a no-change re-sync, and the
global clone cap across worker processes.

Everything runs on this machine, loopback only: PostgreSQL (a throwaway database that
is created and dropped), Redis, `git daemon`, the services (auth + catalog + importer
API, one uvicorn in a thread) and `python -m skreg_importer.worker` processes.

1. A generated local repository with 1,000 skills: time from `POST …/sync` to the run
   being `succeeded` (clone, discover, validate, publish, record), and skills/s.
   Target: ≤ 60 s.
2. The same source synced again with nothing changed (answered by `ls-remote`).
   Target: ≤ 2 s.
3. GIT_MAX_CONCURRENT=3, two worker processes, 20 queued sources served through a
   deliberately slow Git proxy: the most clones ever open at once (must be 3) and
   the total time.

    uv run python bench/bench_importer.py [--skills 1000] [--sources 20]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # reuse the test helpers (git daemon, slow proxy, live server)

import httpx  # noqa: E402
from loadkit import stop  # noqa: E402  (bench/loadkit.py, the shared load-generation kit)
from redis.asyncio import Redis  # noqa: E402

from tests.conftest import REDIS_URL, _asyncpg_to_sqlalchemy, create_pg_database, drop_pg_database  # noqa: E402
from tests.importer.conftest import ADMIN_KEY, IMPORTS, SOURCES  # noqa: E402
from tests.importer.gitrepos import Repo, SlowGitProxy, skill_md, start_git_daemon  # noqa: E402
from tests.importer.live import LiveServer, start_worker  # noqa: E402

BENCH_REDIS = os.environ.get("SKREG_BENCH_REDIS_URL", REDIS_URL.rsplit("/", 1)[0] + "/14")


def generate(repo: Repo, count: int) -> None:
    """`count` skills under skills/, each a SKILL.md and a small script."""
    for index in range(count):
        name = f"skill-{index:04d}"
        folder = repo.path / "skills" / name
        (folder / "scripts").mkdir(parents=True)
        (folder / "SKILL.md").write_text(
            skill_md(name, description=f"Generated skill number {index} for the benchmark.")
        )
        script = folder / "scripts" / "run.sh"
        script.write_text(f"#!/bin/sh\necho {name}\n")
        script.chmod(0o755)
    repo.commit(f"{count} skills")


async def wait_run(client: httpx.AsyncClient, run_id: str, limit_s: float) -> dict:
    deadline = time.monotonic() + limit_s
    while True:
        run = (await client.get(f"{IMPORTS}/{run_id}")).json()
        if run["state"] in ("succeeded", "partial", "failed"):
            return dict(run)
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} still {run['state']} after {limit_s} s")
        await asyncio.sleep(0.02)


async def big_import(live: LiveServer, workdir: Path, daemon_url: str, skills: int) -> None:
    worker = start_worker(
        live.worker_env(log_level="WARNING"), workdir / "worker-big.log", burst=False
    )
    try:
        async with httpx.AsyncClient(
            base_url=live.url, headers={"x-api-key": ADMIN_KEY}, timeout=60
        ) as client:
            source = (
                await client.post(SOURCES, json={"url": daemon_url, "namespace": "bench"})
            ).json()
            started = time.perf_counter()
            run_id = (await client.post(f"{SOURCES}/{source['id']}/sync")).json()["id"]
            run = await wait_run(client, run_id, limit_s=300)
            first = time.perf_counter() - started
            if run["state"] != "succeeded":
                raise SystemExit(f"import failed: {run['error']}")
            created = sum(1 for r in run["results"] if r["outcome"] == "created")
            print(
                f"import of {skills} skills: {first:.2f} s ({created / first:.0f} skills/s, "
                f"{created} created)  target <= 60 s"
            )

            started = time.perf_counter()
            run_id = (await client.post(f"{SOURCES}/{source['id']}/sync")).json()["id"]
            run = await wait_run(client, run_id, limit_s=60)
            second = time.perf_counter() - started
            unchanged = sum(1 for r in run["results"] if r["outcome"] == "unchanged")
            print(
                f"re-sync, nothing changed: {second:.2f} s ({unchanged} unchanged, "
                f"{unchanged / second:.0f} skills/s)  target <= 2 s"
            )
    finally:
        stop(worker)


async def capped(
    live: LiveServer, workdir: Path, daemon_port: int, base: Path, sources: int
) -> None:
    proxy = SlowGitProxy(daemon_port, delay=0.5).start()
    try:
        async with httpx.AsyncClient(
            base_url=live.url, headers={"x-api-key": ADMIN_KEY}, timeout=60
        ) as client:
            ids = []
            for index in range(sources):
                repo = Repo(base / f"cap-{index}.git")
                repo.path.joinpath("skills/s").mkdir(parents=True)
                repo.write("skills/s/SKILL.md", skill_md("s"))
                repo.commit()
                source = (
                    await client.post(
                        SOURCES,
                        json={"url": proxy.url(f"cap-{index}.git"), "namespace": f"cap{index}"},
                    )
                ).json()
                ids.append((await client.post(f"{SOURCES}/{source['id']}/sync")).json()["id"])
            env = live.worker_env(
                git_max_concurrent=3, importer_worker_max_jobs=10, log_level="WARNING"
            )
            started = time.perf_counter()
            workers = [
                start_worker(env, workdir / f"worker-cap-{n}.log", burst=True) for n in (1, 2)
            ]
            for worker in workers:
                await asyncio.to_thread(worker.wait, 300)
            elapsed = time.perf_counter() - started
            states = [(await client.get(f"{IMPORTS}/{run_id}")).json()["state"] for run_id in ids]
    finally:
        proxy.stop()
    print(
        f"{sources} sources, 2 workers, GIT_MAX_CONCURRENT=3, proxy delay 0.5 s: "
        f"max simultaneous clones {proxy.max_active} (must be 3), total {elapsed:.2f} s, "
        f"{states.count('succeeded')}/{sources} succeeded"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=20)
    args = parser.parse_args()
    from skreg_common.logging import configure_logging

    configure_logging("WARNING", json=True)  # figures only; the services' events stay quiet
    dsn = await create_pg_database("skreg_bench_importer")
    database_url = _asyncpg_to_sqlalchemy(dsn)
    redis = Redis.from_url(BENCH_REDIS)
    await redis.flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="skreg-bench-importer-"))
    daemon = start_git_daemon(workdir / "served")
    try:
        from skreg_common.db import create_engine
        from skreg_common.migrate import installed_migrations
        from skreg_common.migrations import upgrade

        engine = create_engine(database_url)
        await upgrade(engine, installed_migrations())
        await engine.dispose()
        generate(daemon.repo("big.git"), args.skills)
        queue = f"skreg:bench:{uuid.uuid4().hex[:8]}"
        with LiveServer(database_url, BENCH_REDIS, queue) as live:
            for noisy in ("httpx", "uvicorn.error", "litestar"):
                logging.getLogger(noisy).setLevel(logging.WARNING)
            await big_import(live, workdir, daemon.url("big.git"), args.skills)
            await capped(live, workdir, daemon.port, daemon.base, args.sources)
    finally:
        daemon.stop()
        await redis.flushdb()
        await redis.aclose()
        await drop_pg_database(dsn)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
