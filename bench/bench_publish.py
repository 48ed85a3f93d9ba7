"""Publishing on PostgreSQL, reframed (issue #17): does throughput grow with processes, and
what does one publisher wait for on a busy process?

Three figures, each with the hypervisor's steal time beside it:

1. aggregate throughput of 50 KB publishes at 16 connections against one catalog process,
   then against two (each pinned to its own core with `os.sched_setaffinity`, the
   connections split between them), both on the same PostgreSQL database;
2. one publisher's p50/p99 while 31 other connections search and read skill pages on the
   same (single, unpinned) process: the target is p50 <= 30 ms;
3. optionally (`--profile`), a py-spy profile of that process during (2), its hottest
   frames printed, to say where a publish's time goes.

The catalog is the real app under uvicorn with fixed bench tokens (no auth service), on
a throwaway database on the PostgreSQL at `--pg` (default 127.0.0.1:5432, user postgres),
dropped at the end. Bounded: about `--duration` x 5 seconds plus set-up.

    uv run python bench/bench_publish.py [--duration 10] [--profile] [--pg postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # reuse the test harness's throwaway databases

from bench_catalog import (  # noqa: E402 - the catalog benchmark's skills, bundles and test-token server
    SEED,
    SkillSpec,
    generate_skills,
    load_via_api,
    skill_md,
)
from loadkit import Connection, Response, Result, ServerProcess, free_port, measure  # noqa: E402

from tests.support.pgdatabases import create_pg_database, drop_pg_database, sqlalchemy_url  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
HEADERS = {"Content-Type": "application/gzip", "Authorization": "Bearer bench-bench"}
PUBLISHERS = 16  # connections for the throughput figure
READERS = 31


def serve(database_url: str, port: int) -> None:
    """Child process: the catalog app on uvicorn on `database_url`, bench tokens."""
    import uvicorn
    from bench_catalog import BenchTokens
    from skreg_catalog.app import create_app
    from skreg_catalog.settings import CatalogSettings
    from skreg_common.logging import configure_logging
    from skreg_common.settings import load_settings

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "PUBLISH_RATE_LIMIT": "0",  # measure publishing, not the limit that stops it
        "STORAGE_QUOTA_BYTES": "0",
        "SEMANTIC_SEARCH": "false",  # the model's load and embedding are bench_semantic's
    }
    settings = load_settings(CatalogSettings, env)
    configure_logging("WARNING", json=True)
    app = create_app(settings, resolver=BenchTokens())
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning"
    )


def catalog(database_url: str, cpu: int | None = None) -> ServerProcess:
    """`serve` in a subprocess, pinned to core `cpu` when given (`taskset`-like)."""
    port = free_port()
    command = [sys.executable, __file__, "--serve", database_url, str(port)]
    if cpu is not None:
        command = [sys.executable, __file__, "--pinned", str(cpu), *command[3:]]
    return ServerProcess(command, port=port, label=f"catalog on port {port}")


def bundles(count: int, skills: int = 8) -> list[bytes]:
    """`count` distinct ~50 KB bundles (incompressible reference data) over `skills`
    skills, so publishes add versions rather than all fighting over one skill's row."""
    from skreg_proto.bundle import pack_files

    reference = base64.b64encode(random.Random(SEED + 7).randbytes(49_500))  # ~50 KB compressed
    made = []
    for n in range(count):
        spec = SkillSpec("bench", f"publish-{n % skills}", "A 50 KB bundle.", ("bench",), "x")
        made.append(
            pack_files(
                {
                    "SKILL.md": (skill_md(spec, f"1.{n // skills}.0"), False),
                    "references/data.txt": (reference + str(n).encode(), False),
                }
            )
        )
    return made


async def create_database() -> tuple[str, str]:
    """A new empty database: (its asyncpg DSN, its SQLAlchemy URL), migrated."""
    from skreg_catalog.schema import MIGRATIONS
    from skreg_common.db import create_engine
    from skreg_common.migrations import upgrade

    dsn = await create_pg_database(PG_ADMIN, "skreg_bench_publish")
    url = sqlalchemy_url(dsn)
    engine = create_engine(url)
    try:
        await upgrade(engine, [MIGRATIONS])
    finally:
        await engine.dispose()
    return dsn, url


class Publisher:
    """Hands out each bundle once, whichever connection asks (n is per measurement)."""

    def __init__(self, made: list[bytes]) -> None:
        self._made = made
        self._next = 0

    def call(self, c: Connection, n: int) -> Awaitable[Response]:
        data = self._made[self._next % len(self._made)]
        self._next += 1
        return c.request("POST", "/api/v1/skills", HEADERS, data)


async def throughput(urls: list[str], publisher: Publisher, duration: float) -> Result:
    """Publishes/s at PUBLISHERS connections split evenly over `urls`."""
    share = PUBLISHERS // len(urls)
    parts = await asyncio.gather(
        *(
            measure(url, "publish", publisher.call, duration=duration, concurrency=share,
                    ok=(200, 201))
            for url in urls
        )
    )  # fmt: skip
    latencies = [x for part in parts for x in part.latencies]
    seconds = max(part.seconds for part in parts)
    steal = sum(part.steal for part in parts) / len(parts)
    label = f"publish 50KB, {len(urls)} process{'es' if len(urls) > 1 else ''}"
    return Result(label, latencies, sum(p.errors for p in parts), seconds, steal)


async def beside_readers(
    url: str, publisher: Publisher, skills: list[SkillSpec], duration: float
) -> tuple[Result, Result]:
    """One publishing connection while READERS connections search and read pages."""
    words = [s.description.split()[1] for s in skills]

    def browse(c: Connection, n: int) -> Awaitable[Response]:
        if n % 2:
            return c.request("GET", f"/api/v1/skills?q={words[n % len(words)]}")
        s = skills[n % len(skills)]
        return c.request("GET", f"/api/v1/skills/{s.namespace}/{s.name}")

    readers, one = await asyncio.gather(
        measure(url, "reads beside", browse, duration=duration, concurrency=READERS, ok=(200,)),
        measure(url, "publish 50KB (1 of 32)", publisher.call, duration=duration,
                concurrency=1, ok=(200, 201)),
    )  # fmt: skip
    return one, readers


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling `pid` for `seconds` into `out` (raw collapsed stacks), if installed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("  (py-spy not installed: `uv pip install py-spy` to profile)")
        return None
    command = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200",
               "-f", "raw", "-o", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hottest(raw: Path, top: int = 18) -> None:
    """Print the frames (ours, by function) present in the most samples."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + samples
    print(f"  py-spy: {total} samples; our frames in the most samples (inclusive):")
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
    shown = 0
    for frame, samples in ranked:
        if "skreg" not in frame and "asyncpg" not in frame and "sqlalchemy" not in frame:
            continue
        print(f"    {samples / total:6.1%}  {frame[:150]}")
        shown += 1
        if shown == top:
            break


async def main_run(duration: float, with_profile: bool, workdir: Path) -> None:
    dsn, url = await create_database()
    try:
        made = bundles(int(400 * duration))
        publisher = Publisher(made)
        print(f"50 KB bundles: {len(made[0])} bytes compressed; database {dsn}")
        cores = sorted(os.sched_getaffinity(0))
        with catalog(url, cores[0]) as one:
            spy = None
            if with_profile and one.process is not None:
                spy = profile(one.process.pid, duration, workdir / "publish.raw")
            single = await throughput([one.url], publisher, duration)
            if spy is not None:
                spy.wait(timeout=duration + 60)
            alone = await measure(one.url, "publish 50KB (1 conn, alone)", publisher.call,
                                  duration=duration, concurrency=1, ok=(200, 201))  # fmt: skip
        print(single.line(34))
        print(alone.line(34))
        if len(cores) >= 2:
            with catalog(url, cores[0]) as a, catalog(url, cores[1]) as b:
                double = await throughput([a.url, b.url], publisher, duration)
            print(double.line(34))
            print(f"  two processes / one: {double.rate / single.rate:.2f}x (cores {cores[:2]})")
        else:
            print("  one core only: no two-process figure")
        skills = generate_skills(300)
        with catalog(url) as server:
            await load_via_api(server.url, skills)
            spy = None
            if with_profile and server.process is not None:
                spy = profile(server.process.pid, duration, workdir / "beside.raw")
            one_pub, readers = await beside_readers(server.url, publisher, skills, duration)
            if spy is not None:
                spy.wait(timeout=duration + 60)
        print(one_pub.line(34))
        print(readers.line(34))
        print(
            f"  one publisher among {READERS} readers: p50 {one_pub.pct(0.5):.1f} ms "
            f"(target <= 30 ms): {'MET' if one_pub.pct(0.5) <= 30 else 'NOT MET'}"
        )
        for raw, what in (("publish.raw", f"{PUBLISHERS} publishers, one process"),
                          ("beside.raw", f"1 publisher + {READERS} readers")):  # fmt: skip
            if (workdir / raw).exists():
                print(f"  where the time goes ({what}):")
                hottest(workdir / raw)
    finally:
        await drop_pg_database(PG_ADMIN, dsn)


def main() -> None:
    global PG_ADMIN
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) == 5 and sys.argv[1] == "--pinned":
        os.sched_setaffinity(0, {int(sys.argv[2])})  # its own core, before anything starts
        serve(sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per figure")
    parser.add_argument("--profile", action="store_true", help="py-spy the busy process")
    parser.add_argument("--pg", default=PG_ADMIN, help="an admin URL of the PostgreSQL to use")
    args = parser.parse_args()
    PG_ADMIN = args.pg
    print(f"publish benchmark: {os.cpu_count()} CPUs, PostgreSQL, {PUBLISHERS} publishing "
          f"connections, then 1 publisher + {READERS} readers")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="skreg-bench-publish-") as tmp:
        asyncio.run(main_run(args.duration, args.profile, Path(tmp)))


if __name__ == "__main__":
    main()
