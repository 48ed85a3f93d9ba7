"""Catalog benchmark: 10,000 generated skills, 32 concurrent connections, one server process.

Starts the real catalog app under uvicorn on 127.0.0.1 with an embedded SQLite file,
loads the same generated skills every run through the publish API, then measures
search, detail, download (200 and 304) and publish, and prints requests/s, p50/p99
and the ratios to the same server's `/health`. Finally it shows how search time
scales with 1k, 10k and 100k skills (those databases are filled with direct SQL
inserts to stay fast) with the read cache off, so the figures are the index's.
Identities are fixed bench tokens (no auth service needed).

Reads run with the default 1 s in-process read cache, in 3 interleaved rounds (median
round reported: the machine's speed drifts); each is measured both
cache-friendly (16 queries, one skill) and cache-hostile (800 queries, every skill
once), since real traffic sits somewhere between. A version with its body is read for
every skill in rotation. Bounded: a few seconds per
operation (`--duration`), about 4 minutes in all.

    uv run python bench/bench_catalog.py [--skills N] [--duration S] [--scaling 1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import httpx
from loadkit import (  # bench/loadkit.py, the shared load-generation kit
    CONCURRENCY,
    Call,
    Connection,
    Response,
    Result,
    ServerProcess,
    free_port,
    measure,
)
from skreg_common.errors import Unauthorized
from skreg_common.principal import Principal

SEED = 20260101
ROUNDS = 3
DOMAINS = (
    "pdf",
    "git",
    "docker",
    "kubernetes",
    "terraform",
    "python",
    "react",
    "sql",
    "csv",
    "excel",
    "slack",
    "jira",
    "aws",
    "gcp",
    "azure",
    "testing",
    "lint",
    "refactor",
    "security",
    "logs",
    "metrics",
    "markdown",
    "images",
    "video",
    "audio",
    "email",
    "calendar",
    "invoice",
    "translation",
    "changelog",
    "release",
    "api",
    "graphql",
    "postgres",
    "redis",
    "kafka",
    "ansible",
    "nginx",
    "css",
    "typescript",
)
ACTIONS = (
    "extract",
    "convert",
    "review",
    "generate",
    "analyze",
    "deploy",
    "monitor",
    "format",
    "validate",
    "search",
    "summarize",
    "migrate",
    "debug",
    "document",
    "optimize",
    "audit",
    "scaffold",
    "clean",
    "report",
    "sync",
)
WORDS = (
    "the",
    "agent",
    "should",
    "use",
    "this",
    "skill",
    "when",
    "working",
    "with",
    "files",
    "projects",
    "teams",
    "data",
    "careful",
    "steps",
    "check",
    "output",
    "before",
    "commit",
    "always",
    "prefer",
    "small",
    "changes",
    "tests",
    "reference",
    "scripts",
    "folder",
)
QUERIES = (
    "pdf",
    "git commit",
    "docker deploy",
    "kubernetes",
    "python lint",
    "extract tables",
    "sql migrate",
    "review",
    "security audit",
    "markdown",
    "invoice",
    "release changelog",
    "terraform",
    "email summarize",
    "react",
    "csv convert",
)


# --- deterministic data -------------------------------------------------------------------


@dataclass(frozen=True)
class SkillSpec:
    namespace: str
    name: str
    description: str
    tags: tuple[str, ...]
    body: str


def generate_skills(count: int, body_words: int = 250) -> list[SkillSpec]:
    """The same `count` skills every run."""
    rng = random.Random(SEED)
    skills = []
    for i in range(count):
        domain, action = rng.choice(DOMAINS), rng.choice(ACTIONS)
        other = rng.choice(DOMAINS)
        name = f"{domain}-{action}-{i}"
        description = (
            f"{action.capitalize()} {domain} work: helps the agent {action} {domain} "
            f"and {other} artefacts in real projects."
        )
        paragraphs = " ".join(rng.choice(WORDS) for _ in range(body_words))
        body = f"# {name}\n\n## When to use\n\n{paragraphs}\n\n## Steps\n\n1. {action} {domain}\n"
        skills.append(
            SkillSpec(
                namespace=f"team{i % 50:02d}",
                name=name,
                description=description,
                tags=(domain, action, other),
                body=body,
            )
        )
    return skills


def skill_md(spec: SkillSpec, version: str = "1.0.0") -> bytes:
    return (
        f"---\nname: {spec.name}\ndescription: {json.dumps(spec.description)}\nlicense: MIT\n"
        f'metadata:\n  version: "{version}"\n  tags: "{", ".join(spec.tags)}"\n'
        f"---\n{spec.body}"
    ).encode()


def skill_bundle(spec: SkillSpec) -> bytes:
    from skreg_proto.bundle import pack_files

    script = f"#!/bin/sh\necho {spec.name}\n".encode()
    return pack_files({"SKILL.md": (skill_md(spec), False), "scripts/run.sh": (script, True)})


def fifty_kb_bundles(count: int) -> list[bytes]:
    """Bundles of ~50 KB compressed (incompressible reference data), one per version."""
    from skreg_proto.bundle import pack_files

    rng = random.Random(SEED + 1)
    reference = base64.b64encode(rng.randbytes(49_500))
    spec = SkillSpec("bench", "bench-publish", "A 50 KB bundle for the benchmark.", ("bench",), "x")
    return [
        pack_files(
            {
                "SKILL.md": (skill_md(spec, f"1.0.{n}"), False),
                "references/data.txt": (reference, False),
            }
        )
        for n in range(count)
    ]


# --- the server ---------------------------------------------------------------------------


class BenchTokens:
    """`Bearer bench-<user>` is that user with read/publish/yank (the bench has no auth)."""

    async def resolve(self, credential: str) -> Principal:
        if not credential.startswith("bench-"):
            raise Unauthorized("unknown bench token")
        user = credential.removeprefix("bench-")
        return Principal(
            kind="user",
            id=f"u-{user}",
            username=user,
            roles=("user",),
            scopes=("read", "publish", "yank"),
        )


def serve(database: Path, port: int) -> None:
    """Child process: the catalog app on uvicorn, embedded SQLite, settings from the env."""
    import uvicorn
    from skreg_catalog.app import create_app
    from skreg_catalog.settings import CatalogSettings
    from skreg_common.logging import configure_logging
    from skreg_common.settings import load_settings

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PORT": str(port),
        # A handful of users publish thousands of skills in seconds: measure publishing,
        # not the limits that would stop them.
        "PUBLISH_RATE_LIMIT": "0",
        "STORAGE_QUOTA_BYTES": "0",
    }
    settings = load_settings(CatalogSettings, env)
    configure_logging("WARNING", json=True)
    app = create_app(settings, resolver=BenchTokens())
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning"
    )


def catalog_server(database: Path, cache_ttl: float | None = None) -> ServerProcess:
    """`serve` (this script with `--serve`) in a subprocess; `cache_ttl` sets READ_CACHE_TTL."""
    port = free_port()
    env = {} if cache_ttl is None else {"READ_CACHE_TTL": str(cache_ttl)}
    command = [sys.executable, __file__, "--serve", str(database), str(port)]
    return ServerProcess(command, port=port, env=env)


# --- loading through the API ------------------------------------------------------------


async def load_via_api(base_url: str, skills: list[SkillSpec]) -> float:
    """Publish every skill through the API at 32 concurrency; returns skills/s."""
    bundles = [skill_bundle(s) for s in skills]
    done: set[int] = set()

    def publish(c: Connection, n: int) -> Awaitable[Response]:
        index = n % len(skills)  # warm-up calls (n=0) republish skill 0: an idempotent 200
        done.add(index)
        headers = {
            "Content-Type": "application/gzip",
            "Authorization": f"Bearer bench-{skills[index].namespace}",
        }
        return c.request("POST", "/api/v1/skills", headers, bundles[index])

    result = await measure(
        base_url,
        "load (publish)",
        publish,
        duration=3600,
        max_requests=len(skills) - 1,
        ok=(200, 201),
    )
    if result.errors or len(done) != len(skills):
        raise RuntimeError(f"{result.errors} publishes failed while loading")
    return result.rate


# --- direct SQL loading (scaling runs) ----------------------------------------------------


async def migrate(database: Path) -> None:
    from skreg_catalog.schema import MIGRATIONS
    from skreg_common.db import create_engine
    from skreg_common.migrations import upgrade

    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await upgrade(engine, [MIGRATIONS])
    finally:
        await engine.dispose()


Rows = list[tuple[object, ...]]
"""One table's rows, values in the order of its `columns`."""


def catalog_rows(
    skills: list[SkillSpec], now: object, *, vectors: bool = True
) -> list[tuple[str, tuple[str, ...], Rows]]:
    """Every row publishing `skills` would leave, as (table, columns, rows) in insert order.

    The same rows for SQLite and PostgreSQL: JSON columns as JSON text, booleans as
    bools; `now` is the timestamp value the backend's driver takes. The term index is
    the writer's own analysis (`skreg_catalog.search.index`), so searches see what a
    publish would have written.

    `vectors`: each skill also gets a stored embedding — a random unit vector under the
    current model id — so a server started on these rows has nothing left to embed.
    Without them its background pass embeds every skill while the benchmark measures
    (at 10k skills several minutes of one core, in a profile 44 % of the server's CPU).
    The nearest-neighbour cost does not depend on what the vectors mean; only the
    relevance benchmark needs real ones (it embeds them itself).
    """
    from collections import Counter

    from skreg_catalog.search.index import gram_rows, posting_rows
    from skreg_catalog.search.terms import vocabulary
    from skreg_proto.bundle import read_bundle

    sample = skill_bundle(skills[0])
    parsed = read_bundle(sample)
    manifest = json.dumps(
        [
            {"path": f.path, "size": f.size, "mode": f.mode, "sha256": f.sha256}
            for f in parsed.manifest
        ]
    )
    namespaces = sorted({s.namespace for s in skills})
    ns_id = {ns: i + 1 for i, ns in enumerate(namespaces)}
    rng = random.Random(SEED + 2)
    numbered = list(enumerate(skills, start=1))
    postings: Rows = []
    terms: Counter[str] = Counter()
    words: Counter[str] = Counter()
    for i, s in numbered:
        fields = {"namespace": s.namespace, "name": s.name, "tags": " ".join(s.tags),
                  "description": s.description, "body": s.body}  # fmt: skip
        found = posting_rows(i, fields)
        terms.update(row["term"] for row in found)
        words.update(vocabulary(s.name, fields["tags"]))
        postings.extend((r["term"], r["skill_id"], r["weight"], r["fields"]) for r in found)
    return [
        ("catalog_blobs", ("digest", "data", "size", "created_at"),
         [(parsed.digest, sample, len(sample), now)]),
        ("catalog_namespaces", ("id", "name", "owner_id", "owner_name", "created_at"),
         [(ns_id[ns], ns, f"u-{ns}", ns, now) for ns in namespaces]),
        ("catalog_skills",
         ("id", "namespace_id", "namespace", "name", "description", "tags", "latest_version",
          "latest_version_id", "downloads", "created_at", "updated_at", "deprecated"),
         [(i, ns_id[s.namespace], s.namespace, s.name, s.description, json.dumps(list(s.tags)),
           "1.0.0", i, rng.randint(0, 5000), now, now, False) for i, s in numbered]),
        ("catalog_versions",
         ("id", "skill_id", "version", "digest", "prerelease", "description", "tags",
          "manifest", "frontmatter", "body", "size", "compressed_size", "published_at",
          "warnings", "yanked", "downloads"),
         [(i, i, "1.0.0", parsed.digest, False, s.description, json.dumps(list(s.tags)),
           manifest, json.dumps({"name": s.name, "description": s.description}), s.body,
           parsed.total_size, len(sample), now, "[]", False, 0) for i, s in numbered]),
        ("catalog_skill_tags", ("skill_id", "tag"),
         [(i, tag) for i, s in numbered for tag in dict.fromkeys(s.tags)]),
        ("catalog_search_documents",
         ("skill_id", "namespace", "name", "tags", "description", "body"),
         [(i, s.namespace, s.name, " ".join(s.tags), s.description, s.body)
          for i, s in numbered]),
        ("catalog_search_postings", ("term", "skill_id", "weight", "fields"), postings),
        ("catalog_search_terms", ("term", "documents"), list(terms.items())),
        ("catalog_search_words", ("word", "documents"), list(words.items())),
        ("catalog_search_word_grams", ("gram", "word"),
         [(r["gram"], r["word"]) for r in gram_rows(words)]),
        ("catalog_counters", ("name", "value"), [("visible_skills", len(skills))]),
        ("catalog_skill_embeddings", ("skill_id", "model_id", "version_id", "vector"),
         random_vector_rows(len(skills)) if vectors else []),
    ]  # fmt: skip


def random_vector_rows(count: int) -> Rows:
    """(skill_id, model_id, version_id, vector) for skills 1..count: seeded random unit
    vectors under the current model id, as the embedder stores them."""
    import numpy as np
    from skreg_catalog.semantic.model import DIMENSIONS, MODEL_ID

    vectors = np.random.default_rng(SEED + 3).standard_normal((count, DIMENSIONS))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype("<f4")
    return [(i, MODEL_ID, i, vectors[i - 1].tobytes()) for i in range(1, count + 1)]


def load_via_sql(database: Path, skills: list[SkillSpec], *, vectors: bool = True) -> None:
    """Insert skills the way publishing would leave them, thousands per transaction
    (`vectors`: see `catalog_rows`)."""
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    for table, columns, rows in catalog_rows(skills, "2026-01-01 00:00:00.000000", vectors=vectors):
        insert = (
            f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        for start in range(0, len(rows), 5000):
            with conn:
                conn.executemany(insert, rows[start : start + 5000])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def load_via_postgres(dsn: str, skills: list[SkillSpec]) -> None:
    """`load_via_sql` for a migrated PostgreSQL database (`dsn`: a plain postgresql:// URL),
    with COPY; then the id sequences move past the ids given here, as inserts would."""
    import datetime as dt

    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for table, columns, rows in catalog_rows(
                skills, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            ):
                await conn.copy_records_to_table(table, records=rows, columns=list(columns))
            for table in ("catalog_namespaces", "catalog_skills", "catalog_versions",
                          "catalog_skill_embeddings"):  # fmt: skip
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# --- the runs -----------------------------------------------------------------------------


def _search_call(c: Connection, n: int) -> Awaitable[Response]:
    query = QUERIES[n % len(QUERIES)].replace(" ", "+")
    return c.request("GET", f"/api/v1/skills?q={query}")


def _distinct_query(c: Connection, n: int) -> Awaitable[Response]:
    # 800 domain+action pairs: at this rate nearly every one misses the 1 s read cache.
    query = f"{DOMAINS[n % len(DOMAINS)]}+{ACTIONS[(n // len(DOMAINS)) % len(ACTIONS)]}"
    return c.request("GET", f"/api/v1/skills?q={query}")


async def main_run(skills_count: int, duration: float, workdir: Path) -> None:
    skills = generate_skills(skills_count)
    database = workdir / "bench.db"  # the server migrates it at start-up (embedded mode)
    with catalog_server(database) as server:
        url = server.url
        t0 = time.perf_counter()
        rate = await load_via_api(url, skills)
        print(
            f"loaded {skills_count} skills through the publish API in "
            f"{time.perf_counter() - t0:.1f} s ({rate:.0f} publishes/s at {CONCURRENCY})"
        )
        picks = random.Random(SEED + 3)
        chosen = [skills[picks.randrange(len(skills))] for _ in range(skills_count)]
        async with httpx.AsyncClient(base_url=url) as client:
            first = await client.get(
                f"/api/v1/skills/{chosen[0].namespace}/{chosen[0].name}/versions/1.0.0/download"
            )
        etag = first.headers["etag"]
        bundles = fifty_kb_bundles(600)
        print(f"publish payload: {len(bundles[0])} bytes compressed; read cache TTL 1 s")

        def path(n: int) -> str:
            s = chosen[n % len(chosen)]
            return f"/api/v1/skills/{s.namespace}/{s.name}"

        def body_path(n: int) -> str:
            s = skills[n % len(skills)]
            return f"/api/v1/skills/{s.namespace}/{s.name}/versions/1.0.0"

        publish_headers = {
            "Content-Type": "application/gzip",
            "Authorization": "Bearer bench-bench",
        }
        exact = f"/api/v1/skills/{chosen[0].namespace}/{chosen[0].name}/versions/1.0.0/download"

        def reads(offset: int) -> list[tuple[str, Call, tuple[int, ...]]]:
            # `offset` moves each round to skills the earlier rounds did not touch, so a
            # later round never finds their (stale) cache entries.
            return [
                ("health", lambda c, n: c.request("GET", "/health"), (200,)),
                ("search (16 queries)", _search_call, (200,)),
                ("search (800 queries)", lambda c, n: _distinct_query(c, n + offset), (200,)),
                ("detail (all skills)", lambda c, n: c.request("GET", path(n + offset)), (200,)),
                ("detail (one skill)", lambda c, n: c.request("GET", path(0)), (200,)),
                # The page a person or agent reads: a version with its body, every skill
                # in rotation (cache-hostile); the HTML was stored at publish (issue 20).
                (
                    "version+body (all skills)",
                    lambda c, n: c.request("GET", body_path(n + offset)),
                    (200,),
                ),
                (
                    "download 200",
                    lambda c, n: c.request("GET", path(n % 1000) + "/versions/1.0.0/download"),
                    (200,),
                ),
                (
                    "download 304",
                    lambda c, n: c.request("GET", exact, {"If-None-Match": etag}),
                    (304,),
                ),
            ]

        # Rounds: every read runs ROUNDS times, interleaved with the others, and its
        # throughput is the median round. On a shared machine speed drifts by tens of
        # percent within a minute; measured once each, a ratio to /health would compare
        # different machines. Percentiles are over all rounds' requests.
        rounds: dict[str, list[Result]] = {}
        for index in range(ROUNDS):
            for name, call, ok in reads(index * len(chosen) // ROUNDS):
                result = await measure(url, name, call, duration=duration, ok=ok)
                rounds.setdefault(name, []).append(result)
        results = {name: merged(name, runs) for name, runs in rounds.items()}
        for name, runs in rounds.items():
            spread = ", ".join(f"{r.rate:.0f}" for r in runs)
            print(f"{results[name].line()}   rounds: {spread} req/s")
        publishes: list[tuple[str, Call, int]] = [
            (
                "publish 50KB",
                lambda c, n: c.request("POST", "/api/v1/skills", publish_headers, bundles[n % 200]),
                CONCURRENCY,
            ),
            (
                "publish 50KB (1 conn)",
                lambda c, n: c.request(
                    "POST", "/api/v1/skills", publish_headers, bundles[200 + n % 200]
                ),
                1,
            ),
        ]
        for name, call, concurrency in publishes:
            results[name] = await measure(
                url,
                name,
                call,
                duration=duration * ROUNDS,
                concurrency=concurrency,
                max_requests=199,
                ok=(200, 201),
            )
            print(results[name].line())

        # What a publisher sees on a busy registry: one publishing connection while 31
        # others search and read skill pages.
        def browse(c: Connection, n: int) -> Awaitable[Response]:
            if n % 2:
                return _distinct_query(c, n)
            return c.request("GET", path(n + len(chosen) // 2))

        readers, publisher = await asyncio.gather(
            measure(url, "reads beside", browse, duration=duration * ROUNDS,
                    concurrency=CONCURRENCY - 1, ok=(200,)),
            measure(url, "publish 50KB (1 of 32)",
                    lambda c, n: c.request("POST", "/api/v1/skills", publish_headers,
                                           bundles[400 + n % 200]),
                    duration=duration * ROUNDS, concurrency=1, max_requests=199, ok=(200, 201)),
        )  # fmt: skip
        results[publisher.name] = publisher
        print(publisher.line())
        print(readers.line())
    health = results["health"].rate
    for name, target in (
        ("search (16 queries)", 0.25),
        ("search (800 queries)", 0.25),
        ("detail (all skills)", 0.5),
        ("detail (one skill)", 0.5),
        ("version+body (all skills)", 0.6),
    ):
        ratio = results[name].rate / health
        print(f"  {name + ' / health':<36} {ratio:6.1%}  (target >= {target:.0%})")
    print(
        f"  search p99 {results['search (16 queries)'].pct(0.99):.1f} ms / "
        f"{results['search (800 queries)'].pct(0.99):.1f} ms (target <= 50 ms)"
    )
    alone = results["publish 50KB (1 conn)"]
    queued = results["publish 50KB"]
    print(
        f"  publish 50KB p50 {alone.pct(0.5):.1f} ms alone, {queued.pct(0.5):.1f} ms with "
        f"{CONCURRENCY} publishers queueing for SQLite's single writer (target <= 30 ms); "
        f"{queued.rate:.0f} publishes/s, so {CONCURRENCY} waiting publishers wait about "
        f"{CONCURRENCY / queued.rate * 1000:.0f} ms each"
    )
    beside = results["publish 50KB (1 of 32)"]
    print(
        f"  publish 50KB p50 {beside.pct(0.5):.1f} ms / p99 {beside.pct(0.99):.1f} ms for one "
        f"publisher among {CONCURRENCY - 1} readers"
    )


def merged(name: str, runs: list[Result]) -> Result:
    """One result for several rounds: all latencies and errors, the median round's rate."""
    middle = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    latencies = [latency for run in runs for latency in run.latencies]
    # Scale the wall time so `rate` is the median round's while `latencies` holds them all.
    seconds = len(latencies) / middle.rate if middle.rate else middle.seconds
    steal = sum(r.steal * r.seconds for r in runs) / sum(r.seconds for r in runs)
    return Result(name, latencies, sum(r.errors for r in runs), seconds, steal)


async def scaling_run(sizes: list[int], duration: float, workdir: Path) -> None:
    print("search scaling, read cache off (direct SQL load; 32 connections):")
    rows = []
    for size in sizes:
        database = workdir / f"scale-{size}.db"
        await migrate(database)
        specs = generate_skills(size, body_words=120)
        t0 = time.perf_counter()
        load_via_sql(database, specs)
        loaded = time.perf_counter() - t0
        names = [specs[i].name for i in range(0, size, max(1, size // 64))]

        def by_name(c: Connection, n: int, names: list[str] = names) -> Awaitable[Response]:
            return c.request("GET", f"/api/v1/skills?q={names[n % len(names)]}")

        with catalog_server(database, cache_ttl=0) as server:
            cases = [
                ("common words", _search_call),
                ("skill names", by_name),
                ("browse", lambda c, n: c.request("GET", "/api/v1/skills")),
            ]
            for label, call in cases:
                result = await measure(
                    server.url,
                    f"{label} @ {size}",
                    call,
                    duration=duration,
                    ok=(200,),
                )
                rows.append(result)
                print(
                    result.line() + (f"   (loaded in {loaded:.1f} s)" if label == "browse" else "")
                )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skills", type=int, default=10_000)
    parser.add_argument(
        "--duration", type=float, default=3.0, help="seconds per measured operation and round"
    )
    parser.add_argument("--scaling", default="1000,10000,100000")
    args = parser.parse_args()
    print(
        f"catalog benchmark: {os.cpu_count()} CPUs, SQLite, one uvicorn process, "
        f"{CONCURRENCY} connections"
    )
    with tempfile.TemporaryDirectory(prefix="skreg-bench-") as tmp:
        asyncio.run(main_run(args.skills, args.duration, Path(tmp)))
        sizes = [int(s) for s in args.scaling.split(",") if s]
        if sizes:
            asyncio.run(scaling_run(sizes, args.duration, Path(tmp)))


if __name__ == "__main__":
    main()
