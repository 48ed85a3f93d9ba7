"""Discovery index benchmark: how long the index of N skills takes to build, cold and warm.

Publishes N small skills (three files each) through the catalog API of an in-process
app on a temporary SQLite file, then times, each as the median of a few tries:

- cold: a new process's first index (every archive packed and hashed once),
- rebuilt: the index after a write (archive digests known; one query),
- cached: an index request served from the read cache,
- 304: a revalidation with the index's ETag,
- archive: one archive, packed vs served from memory.

    uv run python bench/bench_wellknown.py [--skills N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_catalog.component import component
from skreg_catalog.context import CatalogContext
from skreg_catalog.schema import MIGRATIONS
from skreg_catalog.settings import CatalogSettings
from skreg_common.app import build_app
from skreg_common.migrations import migration_component
from skreg_common.principal import Principal
from skreg_common.runtime import Runtime
from skreg_proto.bundle import pack_files

INDEX = "/.well-known/agent-skills/index.json"
ADMIN = Principal(kind="user", id="u-b", username="bench", roles=("admin",), scopes=("publish",))


class BenchTokens:
    async def resolve(self, credential: str) -> Principal:
        return ADMIN


def _bundle(i: int) -> bytes:
    skill_md = f"---\nname: skill-{i}\ndescription: Bench skill {i}.\n---\n# Skill {i}\n"
    return pack_files(
        {
            "SKILL.md": (skill_md.encode(), False),
            "scripts/run.sh": (f"#!/bin/sh\necho {i}\n".encode(), True),
            "references/notes.md": (("notes " * 200 + str(i)).encode(), False),
        }
    )


async def _timed(call, tries: int = 5) -> float:
    times = []
    for _ in range(tries):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main(skills: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = CatalogSettings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            publish_rate_limit=0,
            read_cache_ttl=60.0,
        )
        headers = {"Authorization": "Bearer bench", "Content-Type": "application/gzip"}
        runtime = Runtime.open(settings)
        app, _ = _app(settings, runtime)
        async with AsyncTestClient(app) as client:
            started = time.perf_counter()
            for i in range(skills):
                response = await client.post(
                    "/api/v1/skills",
                    content=_bundle(i),
                    headers=headers,
                    params={"version": "1.0.0"},
                )
                assert response.status_code == 201, response.text
            print(f"published {skills} skills in {time.perf_counter() - started:.1f} s")
        await runtime.close()
        # A fresh process: nothing packed yet.
        runtime = Runtime.open(settings)
        app, catalog = _app(settings, runtime)
        async with AsyncTestClient(app) as client:
            started = time.perf_counter()
            first = await client.get(INDEX)
            cold = (time.perf_counter() - started) * 1000
            size = len(first.content)
            etag = first.headers["etag"]

            async def rebuilt() -> None:
                catalog.reads.invalidate()  # what any write does
                await client.get(INDEX)

            revalidate = {"If-None-Match": etag}
            url = first.json()["skills"][0]["url"]
            print(f"index of {skills} skills: {size / 1024:.0f} KiB")
            print(f"  cold (packs every archive): {cold:8.1f} ms")
            print(f"  rebuilt after a write:      {await _timed(rebuilt):8.1f} ms")
            print(
                f"  cached:                     {await _timed(lambda: client.get(INDEX)):8.2f} ms"
            )
            revalidated = await _timed(lambda: client.get(INDEX, headers=revalidate))
            print(f"  304 revalidation:           {revalidated:8.2f} ms")
            print(f"  one archive (from memory):  {await _timed(lambda: client.get(url)):8.2f} ms")
        await runtime.close()


def _app(settings: CatalogSettings, runtime: Runtime) -> tuple[Litestar, CatalogContext]:
    catalog = CatalogContext.create(settings)
    parts = [migration_component([MIGRATIONS]), component(settings, catalog)]
    return build_app("bench", runtime, parts, resolver=BenchTokens()), catalog


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skills", type=int, default=1000)
    asyncio.run(main(parser.parse_args().skills))
