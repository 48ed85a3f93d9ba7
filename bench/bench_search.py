"""Uncached search and version detail (issue 20 targets), one process, SQLite, 32 connections.

For each catalogue size (generated skills loaded with direct SQL, term index included,
as `bench_catalog.py --scaling` does), the catalog runs with the read cache OFF and
every workload is measured in interleaved rounds with `/health` (median round; the
ratio is to the same process's `/health` in the same rounds), with CPU steal and the
server's CPU time per request (from /proc: it moves far less than req/s when something
else loads the machine):

- search, distinct queries: 1 to 3 words drawn from a realistic term list (domains,
  actions, and the common words every body holds), each request a new query;
- search, a selective query (a skill's name) and a broad one (a word every skill holds):
  the broad one must stay within 2x of the selective one;
- version with body (`…/versions/latest` and exact versions), every skill in rotation.

Targets printed against the figures: distinct search >= 20 % of /health with p99 <= 50 ms
at 10k; the largest size no worse than 1.5x the smallest's per-request cost; broad
within 2x of selective; version with body >= 60 % of /health.

    uv run python bench/bench_search.py [--sizes 1000,10000] [--duration 2] [--rounds 3]

Semantic ranking is on as in a default install: every new query is embedded on a worker
thread, in batches with the queries that arrive with it (`semantic.queries`: ~2-4 ms of
CPU a query at 32 connections, 9-15 ms alone; repeated queries hit a per-process cache).
SEMANTIC_SEARCH=false in the environment measures lexical ranking alone. Stored skill
vectors are written with the catalogue (bench_catalog.catalog_rows), so no background
embedding runs while it measures.

100k skills take about two minutes to build here (`--sizes 1000,10000,100000`).
bench_search_split.py prints the same workloads on PostgreSQL + Redis with one auth and one
catalog process behind Traefik, through the edge and directly at the catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import ssl
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_catalog import (
    ACTIONS,
    DOMAINS,
    WORDS,
    SkillSpec,
    catalog_server,
    generate_skills,
    load_via_sql,
    merged,
    migrate,
)
from loadkit import (
    CONCURRENCY,
    Call,
    Connection,
    Response,
    Result,
    measure,
    process_cpu_seconds,
)

HEALTH = "health"


def _queries(count: int, seed: int) -> list[str]:
    """Distinct realistic queries: a domain and/or action, sometimes with a common word."""
    rng = random.Random(seed)
    found: set[str] = set()
    while len(found) < count:
        words = [rng.choice(DOMAINS)]
        if rng.random() < 0.7:
            words.append(rng.choice(ACTIONS))
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), rng.choice(WORDS))
        if rng.random() < 0.2:
            words[-1] = words[-1][: max(2, len(words[-1]) - 2)]  # typed, unfinished
        found.add(" ".join(words))
    queries = sorted(found)
    rng.shuffle(queries)
    return queries


Workloads = Callable[[int], list[tuple[str, Call]]]
"""The workloads of one round (its argument shifts the rotations so rounds differ)."""


def workloads(specs: list[SkillSpec], seed: int) -> Workloads:
    """`/health` and the issue-20 workloads over `specs`, for interleaved rounds."""
    size = len(specs)
    queries = _queries(4000, seed=seed)
    names = [specs[i].name for i in range(0, size, max(1, size // 64))]
    picks = random.Random(seed + 1)
    rotation = [specs[picks.randrange(size)] for _ in range(min(size, 20_000))]

    def distinct(offset: int) -> Call:
        def call(c: Connection, n: int) -> Awaitable[Response]:
            query = queries[(n + offset) % len(queries)].replace(" ", "+")
            return c.request("GET", f"/api/v1/skills?q={query}")

        return call

    def by_name(c: Connection, n: int) -> Awaitable[Response]:
        return c.request("GET", f"/api/v1/skills?q={names[n % len(names)]}")

    def broad(c: Connection, n: int) -> Awaitable[Response]:
        return c.request("GET", "/api/v1/skills?q=agent")  # in every generated body

    def version(offset: int) -> Call:
        def call(c: Connection, n: int) -> Awaitable[Response]:
            s = rotation[(n + offset) % len(rotation)]
            which = "latest" if n % 2 else "1.0.0"
            return c.request("GET", f"/api/v1/skills/{s.namespace}/{s.name}/versions/{which}")

        return call

    def cases(index: int) -> list[tuple[str, Call]]:
        offset = index * 997
        return [
            (HEALTH, lambda c, n: c.request("GET", "/health")),
            ("search distinct", distinct(offset)),
            ("search selective", by_name),
            ("search broad", broad),
            ("version+body", version(offset)),
        ]

    return cases


@dataclass
class Target:
    """Where a round's workloads go, and whose CPU time is counted per request."""

    prefix: str  # "" or e.g. "edge " before each workload's label
    url: str
    pids: dict[str, int]  # process name -> pid
    tls: ssl.SSLContext | None = None


@dataclass
class Figures:
    """Per workload label: the merged rounds, and CPU seconds per process per request."""

    results: dict[str, Result] = field(default_factory=dict)
    cpu_ms: dict[str, dict[str, float]] = field(default_factory=dict)


async def interleaved(
    targets: list[Target], cases: Workloads, *, rounds: int, duration: float, size: int
) -> dict[str, Figures]:
    """Every target's workloads, round after round; per target prefix, the figures.

    Each measurement reads the servers' CPU time before and after (/proc), so the CPU a
    request costs is printed beside req/s: it moves far less than req/s when other work
    shares the machine. Warm-up requests (one per connection) count in both.
    """
    runs: dict[str, dict[str, list[Result]]] = {t.prefix: {} for t in targets}
    cpu: dict[str, dict[str, dict[str, float]]] = {t.prefix: {} for t in targets}
    served: dict[str, dict[str, int]] = {t.prefix: {} for t in targets}
    for index in range(rounds):
        for target in targets:
            for label, call in cases(index):
                before = {n: process_cpu_seconds(pid) for n, pid in target.pids.items()}
                result = await measure(
                    target.url, f"{target.prefix}{label} @ {size}", call,
                    duration=duration, ok=(200,), tls=target.tls,
                )  # fmt: skip
                spent = cpu[target.prefix].setdefault(label, {})
                for name, pid in target.pids.items():
                    spent[name] = spent.get(name, 0.0) + process_cpu_seconds(pid) - before[name]
                count = served[target.prefix]
                count[label] = count.get(label, 0) + result.requests + CONCURRENCY
                runs[target.prefix].setdefault(label, []).append(result)
    figures = {}
    for prefix, per_label in runs.items():
        figures[prefix] = Figures(
            {label: merged(f"{prefix}{label} @ {size}", r) for label, r in per_label.items()},
            {
                label: {n: s * 1000 / served[prefix][label] for n, s in spent.items()}
                for label, spent in cpu[prefix].items()
            },
        )
    return figures


async def run_size(size: int, duration: float, rounds: int, workdir: Path) -> Figures:
    database = workdir / f"search-{size}.db"
    await migrate(database)
    specs = generate_skills(size, body_words=120)
    started = time.perf_counter()
    load_via_sql(database, specs)
    print(f"{size} skills loaded in {time.perf_counter() - started:.1f} s (direct SQL)")
    with catalog_server(database, cache_ttl=0) as server:
        await _rendered(lambda: _sqlite_count(database), size)
        assert server.process is not None
        target = Target("", server.url, {"catalog": server.process.pid})
        figures = await interleaved(
            [target], workloads(specs, size), rounds=rounds, duration=duration, size=size
        )
    return figures[""]


SETTLED = """
    SELECT CASE WHEN rendered < signed THEN rendered ELSE signed END
    FROM (SELECT (SELECT count(*) FROM catalog_rendered_bodies) AS rendered,
                 (SELECT count(*) FROM catalog_attestations) AS signed) AS done
"""
"""How many SQL-loaded versions both start-up passes have done (rendered and signed)."""


def _sqlite_count(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        (done,) = conn.execute(SETTLED).fetchone()
    return int(done)


async def _rendered(rendered: Callable[[], int | Awaitable[int]], size: int) -> None:
    """Wait for the catalog's start-up passes to render and sign the SQL-loaded versions
    (both done at publish; loaded without them here), so neither runs during the rounds
    (signing 10k versions in the background was a few per cent of the CPU the rounds
    counted, py-spy). `rendered()` counts versions done (a coroutine on PostgreSQL)."""
    started = time.perf_counter()
    while time.perf_counter() - started < 600:
        done = rendered()
        if not isinstance(done, int):
            done = await done
        if done >= size:
            print(
                f"   rendered and signed by the start-up passes in"
                f" {time.perf_counter() - started:.0f} s"
            )
            return
        await asyncio.sleep(0.5)


def report(title: str, figures: Figures, *, targets: bool = True) -> None:
    """Each workload's line with its ratio to /health and CPU per request; then, if
    `targets`, the issue-20 targets beside the figures."""
    results = figures.results
    health = results[HEALTH].rate or 1.0
    print(f"-- {title}, read cache off, {len(results)} workloads in interleaved rounds")
    for label, result in results.items():
        ratio = "" if label == HEALTH else f"   {result.rate / health:6.1%} of /health"
        cpu = ", ".join(f"{n} {ms:.2f}" for n, ms in figures.cpu_ms.get(label, {}).items())
        print(result.line(name_width=30) + ratio + (f"   cpu ms/req: {cpu}" if cpu else ""))
    if not targets:
        return
    distinct, version = results["search distinct"], results["version+body"]
    broad, selective = results["search broad"], results["search selective"]
    print(
        f"   targets: distinct search {distinct.rate / health:.0%} of /health (>= 20 %), "
        f"p99 {distinct.pct(0.99):.1f} ms (<= 50 ms at 10k); broad/selective cost "
        f"{selective.rate / max(broad.rate, 1e-9):.2f}x (<= 2x); version+body "
        f"{version.rate / health:.0%} of /health (>= 60 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    semantic = os.environ.get("SEMANTIC_SEARCH", "true")
    print(f"search benchmark: {os.cpu_count()} CPUs, SQLite, one process, read cache off, "
          f"SEMANTIC_SEARCH={semantic} (false: lexical ranking only)")  # fmt: skip
    per_size: dict[int, dict[str, Result]] = {}
    with tempfile.TemporaryDirectory(prefix="skreg-bench-search-") as tmp:
        for size in sizes:
            figures = asyncio.run(run_size(size, args.duration, args.rounds, Path(tmp)))
            per_size[size] = figures.results
            report(f"{size} skills", figures)
    if len(sizes) > 1:
        small, large = per_size[sizes[0]], per_size[sizes[-1]]

        # Per-request cost relative to /health, so machine drift between sizes cancels.
        def cost(figures: dict[str, Result]) -> float:
            return figures[HEALTH].rate / max(figures["search distinct"].rate, 1e-9)

        print(
            f"scaling: distinct search at {sizes[-1]} costs {cost(large) / cost(small):.2f}x "
            f"its cost at {sizes[0]} (target at 100k vs 1k: <= 1.5x)"
        )


if __name__ == "__main__":
    main()
