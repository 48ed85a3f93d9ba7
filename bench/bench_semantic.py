"""Cost of semantic search: embedding at publish, memory of the model, hybrid search load.

1. Embedding: p50/p90 of embedding one fixture skill (bench/relevance/skills.json) as the
   background pass does after a publish, and per skill in batches of 16 (imports).
2. Memory: RSS of a fresh process before and after loading the model and embedding.
3. Nearest neighbours alone, at 10k and 100k vectors (`--graph-sizes`): the exact scan
   against the HNSW graph used past `APPROXIMATE_FROM` (skreg_catalog.semantic.index):
   build time on one thread, graph memory, p50 of a query each way, and recall@50 of
   the graph against the exact scan. The vectors are unit vectors drawn around 500
   random centres (as embeddings cluster by topic; uniformly random 384-d vectors are
   the worst case for any graph and would understate recall), queries near them.
4. Load (32 connections, one uvicorn process, SQLite, read cache off): hybrid search with
   task-style queries, next to the same server's `/health`, at each catalogue size. The
   catalogues are generated (bench_catalog.generate_skills) and filled by SQL, their
   vectors too: random unit vectors (bench_catalog.catalog_rows; the nearest-neighbour
   cost does not depend on what the vectors mean, and embedding 100k skills would take
   hours here),
   so the server has nothing left to embed and measures search alone. Query vectors are
   cached per process (LRU), as repeated queries are in production.

    uv run python bench/bench_semantic.py [--sizes 1000,10000] [--graph-sizes 10000,100000]
        [--duration S] [--embed-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from functools import partial
from pathlib import Path

from bench_catalog import catalog_server, generate_skills, load_via_sql, migrate
from bench_search import _rendered, _sqlite_count
from loadkit import CONCURRENCY, Connection, Response, measure

HERE = Path(__file__).parent / "relevance"


def embedding_figures() -> None:
    from skreg_catalog.semantic.model import shared_encoder
    from skreg_catalog.semantic.text import embedding_text

    skills = json.loads((HERE / "skills.json").read_text())[:40]
    texts = [
        embedding_text(s["name"], s["description"], " ".join(s["tags"]), s["body"]) for s in skills
    ]
    encoder = shared_encoder()
    encoder.embed(texts[:2])
    single = []
    for text in texts:
        t0 = time.perf_counter()
        encoder.embed([text])
        single.append(time.perf_counter() - t0)
    single.sort()
    t0 = time.perf_counter()
    for i in range(0, len(texts), 16):
        encoder.embed(texts[i : i + 16])
    batched = (time.perf_counter() - t0) / len(texts)
    t0 = time.perf_counter()
    encoder.embed(["work on several tasks in parallel with subagents"])
    query = time.perf_counter() - t0
    tokens = sorted(len(encoder._tokenizer.encode(t).ids) for t in texts)
    print(
        f"embed one skill: p50 {single[len(single) // 2] * 1000:.0f} ms, "
        f"p90 {single[int(len(single) * 0.9)] * 1000:.0f} ms "
        f"(median {tokens[len(tokens) // 2]} tokens); batched: {batched * 1000:.0f} ms/skill; "
        f"one query: {query * 1000:.0f} ms"
    )


def rss_figures() -> None:
    probe = (
        "import resource, psutil, skreg_catalog.app;"
        "p = psutil.Process(); before = p.memory_info().rss;"
        "from skreg_catalog.semantic.model import shared_encoder;"
        "e = shared_encoder(); e.embed(['a skill description to embed'] * 16);"
        "after = p.memory_info().rss;"
        "print(before / 2**20, after / 2**20)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    before, after = float(out[-2]), float(out[-1])
    print(
        f"RSS: catalog imported {before:.0f} MB, model loaded and used {after:.0f} MB "
        f"(+{after - before:.0f} MB)"
    )


def graph_figures(sizes: list[int]) -> None:
    import numpy as np
    from skreg_catalog.semantic import index as semantic_index
    from skreg_catalog.semantic.model import DIMENSIONS
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(20)
    centres = rng.standard_normal((500, DIMENSIONS)).astype(np.float32)

    def near(rows: int) -> np.ndarray:
        points = centres[rng.integers(0, len(centres), rows)]
        points += 0.8 * rng.standard_normal((rows, DIMENSIONS)).astype(np.float32)
        return points / np.linalg.norm(points, axis=1, keepdims=True)

    # One BLAS thread, as in the server once the model is loaded (model.py).
    threadpool_limits(limits=1, user_api="blas")
    print("nearest neighbours, exact scan vs graph (k=50, one core):")
    for size in sizes:
        index = semantic_index.VectorIndex("bench")
        for skill_id, vector in enumerate(near(size)):
            index._put(skill_id, vector.tobytes())
        queries = near(200)
        exact, exact_ms = [], []
        for query in queries:
            t0 = time.perf_counter()
            exact.append({s for s, _ in index.nearest(query, 50, -1.0)})
            exact_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        asyncio.run(index._build())  # as the server does past APPROXIMATE_FROM vectors
        built = time.perf_counter() - t0
        graph = index._graph
        assert graph is not None
        found, graph_ms = [], []
        for query in queries:
            t0 = time.perf_counter()
            found.append({s for s, _ in index.nearest(query, 50, -1.0)})
            graph_ms.append((time.perf_counter() - t0) * 1000)
        recall = sum(len(e & f) for e, f in zip(exact, found, strict=True)) / (50 * len(queries))
        print(
            f"  {size:>7} vectors: exact p50 {sorted(exact_ms)[100]:.2f} ms, graph p50 "
            f"{sorted(graph_ms)[100]:.2f} ms, recall@50 {recall:.3f}; graph built in "
            f"{built:.1f} s, {graph.memory_usage / 1e6:.0f} MB"
        )


async def load_figures(sizes: list[int], duration: float, workdir: Path) -> None:
    cases = json.loads((HERE / "queries.json").read_text())
    queries = [case["query"].replace(" ", "+") for case in cases]

    def hybrid(c: Connection, n: int) -> Awaitable[Response]:
        return c.request("GET", f"/api/v1/skills?q={queries[n % len(queries)]}")

    def health(c: Connection, n: int) -> Awaitable[Response]:
        return c.request("GET", "/health")

    print(f"hybrid search, {CONCURRENCY} connections, read cache off:")
    for size in sizes:
        database = workdir / f"semantic-{size}.db"
        await migrate(database)
        load_via_sql(database, generate_skills(size, body_words=120))
        with catalog_server(database, cache_ttl=0) as server:
            # The SQL-loaded versions are rendered and signed after start-up: not in the
            # rounds (at 10k they halved /health's figure).
            await _rendered(partial(_sqlite_count, database), size)
            # Warm: the model loads on the first query, every query vector is cached.
            await measure(server.url, "warm", hybrid, duration=60, max_requests=len(queries))
            base = await measure(server.url, f"/health @ {size}", health, duration=duration)
            result = await measure(server.url, f"hybrid @ {size}", hybrid, duration=duration)
        print(base.line())
        print(result.line() + f"   ({result.rate / base.rate:.0%} of /health)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--graph-sizes", default="10000,100000")
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--embed-only", action="store_true", help="embedding figures only")
    args = parser.parse_args()
    print(f"semantic benchmark: {os.cpu_count()} CPUs")
    embedding_figures()
    if args.embed_only:
        return
    rss_figures()
    graph_figures([int(s) for s in args.graph_sizes.split(",") if s])
    with tempfile.TemporaryDirectory(prefix="skreg-semantic-") as tmp:
        sizes = [int(s) for s in args.sizes.split(",") if s]
        asyncio.run(load_figures(sizes, args.duration, Path(tmp)))


if __name__ == "__main__":
    main()
