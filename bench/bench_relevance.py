"""Relevance of search: hit@1, hit@5 and MRR@10 for lexical-only and hybrid ranking.

The fixture catalogue (bench/relevance/skills.json: skills written in the style of
public collections) is loaded into a fresh SQLite catalog the way publishing leaves
it, embedded by the real background pass (all-MiniLM-L6-v2), and searched with the
task-style queries of bench/relevance/queries*.json through `search_skills`, once
without and once with the semantic side. A query counts as found at the rank of
the first skill listed as a right answer. Takes about a minute (the embedding).

    uv run python bench/bench_relevance.py [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench_catalog import SkillSpec, load_via_sql, migrate  # bench/bench_catalog.py
from skreg_catalog.search.service import SearchQuery, search_skills
from skreg_catalog.semantic.embedder import embed_pending
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.visibility import ALL
from skreg_common.db import create_engine
from skreg_common.quickread import QuickReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

HERE = Path(__file__).parent / "relevance"
TOP = 10


def catalogue() -> list[SkillSpec]:
    skills = json.loads((HERE / "skills.json").read_text())
    return [
        SkillSpec("fixtures", s["name"], s["description"], tuple(s["tags"]), s["body"])
        for s in skills
    ]


def scores(ranks: list[int | None]) -> tuple[float, float, float]:
    """hit@1, hit@5, MRR@10 from the 0-based rank of each query's first right answer."""
    n = len(ranks)
    hit1 = sum(r == 0 for r in ranks) / n
    hit5 = sum(r is not None and r < 5 for r in ranks) / n
    mrr = sum(1 / (r + 1) for r in ranks if r is not None and r < TOP) / n
    return hit1, hit5, mrr


QUERY_SETS = ("queries.json", "queries-heldout.json")
"""The task-style queries the ranking was built with, and 45 written later, in other
words, to check it on queries it was not tuned on (they informed one choice since,
`semantic.hybrid.CONFIDENT_SIMILARITY`: the gap between the two sets is the figure to
watch, and the outside measurement on real skills the one that counts)."""


async def run(verbose: bool) -> None:
    """Load and embed the catalogue once, then score every query set against it."""
    with tempfile.TemporaryDirectory() as workdir:
        database = Path(workdir) / "relevance.db"
        await migrate(database)
        skills = catalogue()
        load_via_sql(database, skills, vectors=False)  # embedded for real below
        engine = create_engine(f"sqlite+aiosqlite:///{database}")
        sessions = async_sessionmaker(engine, expire_on_commit=False)

        @asynccontextmanager
        async def writing() -> AsyncIterator[AsyncSession]:
            async with sessions.begin() as session:
                yield session

        @asynccontextmanager
        async def reading() -> AsyncIterator[AsyncSession]:
            async with sessions() as session:
                yield session

        semantic = SemanticSearch(refresh_seconds=0)
        started = time.perf_counter()
        embedded = await embed_pending(semantic.loader, reading, writing)
        took = time.perf_counter() - started
        print(f"{len(skills)} skills; embedded {embedded} in {took:.1f} s")
        reader = QuickReader(engine, busy_timeout_ms=5000)
        for name in QUERY_SETS:
            queries = json.loads((HERE / name).read_text())
            print(f"-- {name}: {len(queries)} queries")
            await score_set(reader, semantic, queries, verbose)
        await engine.dispose()


async def score_set(
    reader: QuickReader, semantic: SemanticSearch, queries: list[dict[str, Any]], verbose: bool
) -> None:
    """Print hit@1, hit@5 and MRR@10 of lexical and hybrid ranking for `queries`."""
    ranks: dict[str, list[int | None]] = {"lexical": [], "hybrid": []}
    spent = {"lexical": 0.0, "hybrid": 0.0}
    for case in queries:
        await semantic.nearest(reader, case["query"])  # the query's vector, cached
        for mode, side in (("lexical", None), ("hybrid", semantic)):
            t0 = time.perf_counter()
            page = await search_skills(reader, SearchQuery(q=case["query"], limit=TOP), ALL, side)
            spent[mode] += time.perf_counter() - t0
            names = [item.name for item in page.items]
            rank = next((i for i, n in enumerate(names) if n in case["relevant"]), None)
            ranks[mode].append(rank)
            if verbose and mode == "hybrid" and rank != 0:
                print(f"  {case['query']!r}: {names[:3]} (rank {rank})")
    print(f"{'ranking':<10}{'hit@1':>8}{'hit@5':>8}{'MRR@10':>8}{'ms/query':>10}")
    for mode, found in ranks.items():
        h1, h5, mrr = scores(found)
        per_query = spent[mode] / max(len(queries), 1) * 1000  # in process, query vector cached
        print(f"{mode:<10}{h1:>8.2f}{h5:>8.2f}{mrr:>8.2f}{per_query:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print hybrid misses")
    args = parser.parse_args()
    asyncio.run(run(args.verbose))


if __name__ == "__main__":
    main()
