"""Nearest neighbours over every stored vector of the current model, in process memory.

The same on SQLite and PostgreSQL: the vectors are read from `catalog_skill_embeddings`
incrementally (rows with a larger `id` than the last one read; a re-embedded skill gets
a new row and takes over its slot) at most once per `refresh_seconds`, into one numpy
matrix (1.5 KB per skill: 384 float32; it grows by doubling, so up to twice that).

Up to `APPROXIMATE_FROM` vectors a query is one exact matrix-vector product over them:
0.07 / 0.18 ms (p50, one BLAS thread) at 1k / 10k skills, but 4.4 ms at 100k, on the
loop or a worker thread (bench/bench_semantic.py). Past it, an HNSW graph (usearch,
float16, built on a worker thread from a snapshot of the matrix and swapped in whole)
proposes `GRAPH_CANDIDATES` slots; they, the vectors read since the snapshot and the
ones replaced since are then scored exactly against the matrix, so similarities, the
cut-off and the order are the exact ones and only recall is approximate (0.98-1.0 at
k=50 on clustered vectors; 0.57 ms a query at 100k). The graph is rebuilt when over
`REBUILD_SHARE` of the vectors are outside it; until the first graph exists, the exact
scan serves.

The index decides only which skills are semantically close; visibility is applied by
the SQL that reads the result rows (yanked, deleted or hidden skills never surface even
while their stale vector is still here).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
from skreg_common.quickread import QuickReader
from sqlalchemy import Integer, Select, String, bindparam, select
from usearch.index import Index

from skreg_catalog.semantic.model import DIMENSIONS, Vectors
from skreg_catalog.semantic.models import SkillEmbedding

READ_BATCH = 2000
APPROXIMATE_FROM = 20_000
"""Vectors from which queries go through the graph (below, the exact scan is cheaper
than the graph's loss of recall is worth)."""
GRAPH_CANDIDATES = 200
"""Slots the graph proposes per query (`k` is 50), each then scored exactly."""
GRAPH_EXPANSION = 256  # HNSW's search breadth (ef); at least GRAPH_CANDIDATES
REBUILD_SHARE = 0.1

_COLUMNS: tuple[Any, ...] = (SkillEmbedding.id, SkillEmbedding.skill_id, SkillEmbedding.vector)
_NEWER: Select[Any] = (
    select(*_COLUMNS)
    .where(
        SkillEmbedding.model_id == bindparam("model_id", type_=String()),
        SkillEmbedding.id > bindparam("last_id", type_=Integer()),
    )
    .order_by(SkillEmbedding.id)
    .limit(READ_BATCH)
)


class VectorIndex:
    """Skill ids and their unit vectors under one model, kept in step with the database."""

    def __init__(self, model_id: str, refresh_seconds: float = 1.0) -> None:
        self.model_id = model_id
        self.refresh_seconds = refresh_seconds
        self._matrix: Vectors = np.zeros((64, DIMENSIONS), dtype=np.float32)
        self._skills: list[int] = []
        self._slots: dict[int, int] = {}
        self._last_id = 0
        self._refreshed = -float("inf")
        self._lock = asyncio.Lock()
        self._graph: Index | None = None
        self._graph_size = 0  # slots [0, _graph_size) went into the graph
        self._replaced: set[int] = set()  # slots in the graph whose vector changed since
        self._replaced_next: set[int] | None = None  # the same, for the graph being built
        self._building: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._skills)

    def stale(self) -> None:
        """Read new vectors on the next search (this process committed some)."""
        self._refreshed = -float("inf")

    async def refresh(self, reader: QuickReader, *, force: bool = False) -> None:
        """Read vectors stored since the last refresh (at most once per refresh_seconds)."""
        if not force and time.monotonic() - self._refreshed < self.refresh_seconds:
            return
        async with self._lock:
            if not force and time.monotonic() - self._refreshed < self.refresh_seconds:
                return
            self._refreshed = time.monotonic()
            while True:
                rows = await reader.all(
                    _NEWER, {"model_id": self.model_id, "last_id": self._last_id}
                )
                for row in rows:
                    self._put(int(row["skill_id"]), row["vector"])
                if rows:
                    self._last_id = int(rows[-1]["id"])
                if len(rows) < READ_BATCH:
                    break
        if self._needs_graph():
            self._building = asyncio.create_task(self._build())

    @property
    def approximate(self) -> bool:
        """True when queries go through the graph (cheap enough for the event loop)."""
        return self._graph is not None

    def _needs_graph(self) -> bool:
        count = len(self._skills)
        if count < APPROXIMATE_FROM or self._building is not None:
            return False
        outside = count - self._graph_size + len(self._replaced)
        return self._graph is None or outside > REBUILD_SHARE * count

    async def _build(self) -> None:
        """A graph of the vectors there are now, built off the loop, then swapped in; a
        slot replaced meanwhile is marked so that queries score it exactly."""
        count = len(self._skills)
        self._replaced_next = set()
        try:
            graph = await asyncio.to_thread(_graph_of, self._matrix, count)
            self._graph, self._graph_size = graph, count
            self._replaced = self._replaced_next
        finally:
            self._replaced_next = None
            self._building = None

    async def settled(self, seconds: float = 120.0) -> None:
        """Wait for a graph being built (tests, benchmarks). Polls: the caller may run
        on another event loop than the app (a test client's portal)."""
        for _ in range(int(seconds / 0.01)):
            if self._building is None:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError("the graph was not built in time")

    async def stop(self) -> None:
        """Let a graph being built finish (its thread cannot be interrupted)."""
        if self._building is not None:
            await asyncio.gather(self._building, return_exceptions=True)

    def _put(self, skill_id: int, blob: Any) -> None:
        vector = np.frombuffer(bytes(blob), dtype="<f4")
        if vector.shape != (DIMENSIONS,):
            return  # written by another model under the same id: never compare it
        slot = self._slots.get(skill_id)
        if slot is None:
            slot = len(self._skills)
            if slot == len(self._matrix):
                grown = np.zeros((2 * slot, DIMENSIONS), dtype=np.float32)
                grown[:slot] = self._matrix
                self._matrix = grown
            self._skills.append(skill_id)
            self._slots[skill_id] = slot
        else:
            self._replaced.add(slot)
            if self._replaced_next is not None:
                self._replaced_next.add(slot)
        self._matrix[slot] = vector

    def nearest(self, query: Vectors, k: int, min_similarity: float) -> list[tuple[int, float]]:
        """Up to `k` (skill id, cosine similarity) pairs, most similar first, ties by id."""
        count = len(self._skills)
        if count == 0 or k <= 0:
            return []
        slots = self._candidates(query, count)
        if slots is None:
            similarities = self._matrix[:count] @ query
        else:
            similarities = self._matrix[slots] @ query
        found = len(similarities)
        top = np.argpartition(-similarities, k - 1)[:k] if found > k else np.arange(found)
        pairs = [
            (self._skills[i if slots is None else int(slots[i])], float(similarities[i]))
            for i in top
            if similarities[i] >= min_similarity
        ]
        pairs.sort(key=lambda pair: (-pair[1], pair[0]))
        return pairs

    def _candidates(self, query: Vectors, count: int) -> Vectors | None:
        """The slots to score exactly (None: all of them): the graph's proposals, every
        slot read since it was built and every slot replaced since."""
        graph, built = self._graph, self._graph_size
        if graph is None:
            return None
        proposed = graph.search(query, GRAPH_CANDIDATES).keys.astype(np.int64)
        replaced = np.fromiter(tuple(self._replaced), dtype=np.int64)
        return np.unique(np.concatenate((proposed, np.arange(built, count), replaced)))


def _graph_of(matrix: Vectors, count: int) -> Index:
    """An HNSW graph of the first `count` rows of `matrix`, keyed by slot (one thread:
    it is background work beside the requests)."""
    graph = Index(
        ndim=DIMENSIONS,
        metric="ip",  # the vectors are unit length: inner product is the cosine
        dtype="f16",
        connectivity=16,
        expansion_add=128,
        expansion_search=GRAPH_EXPANSION,
    )
    graph.add(np.arange(count, dtype=np.uint64), matrix[:count], threads=1)
    return graph
