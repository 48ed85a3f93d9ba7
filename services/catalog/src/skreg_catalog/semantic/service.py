"""The semantic half of search for one process: model, background embedder, vector index.

Off (`SEMANTIC_SEARCH=false`) it never loads the model and search is lexical only.
"""

from __future__ import annotations

import asyncio

from skreg_common.quickread import QuickReader

from skreg_catalog.rendering.stored import Sessions
from skreg_catalog.semantic.embedder import Embedder, Loader
from skreg_catalog.semantic.index import VectorIndex
from skreg_catalog.semantic.queries import QueryVectors

# Semantic candidates per query, and how close one must be to count at all (cosine of
# unit MiniLM vectors: unrelated English text sits around 0-0.15, a paraphrase above 0.5).
# A task described in other words than the skill's often lands at 0.25-0.4 ("production
# is down, what do we do" and incident-response: 0.18-0.27, "run a job every night at
# 2am" and cron-scheduling: 0.27), so the floor is 0.25; `semantic.hybrid` asks for
# `CONFIDENT_SIMILARITY` where half or more of the query's words are unknown to the index
# (keyboard mashing reached 0.26, a random token beside a known word 0.34).
CANDIDATES = 50
MIN_SIMILARITY = 0.25
INLINE_LIMIT = 20_000  # vectors scanned exactly on the event loop itself (a few ms at most)


class SemanticSearch:
    """Nearest skills to a query's meaning; `enabled=False` makes every call a no-op."""

    def __init__(
        self, *, enabled: bool = True, loader: Loader | None = None, refresh_seconds: float = 1.0
    ) -> None:
        self.enabled = enabled
        self.loader = loader or Loader()
        self.embedder = Embedder()
        self.index = VectorIndex(self.loader.model_id, refresh_seconds)
        self.queries = QueryVectors(self.loader)

    def start(self, reading: Sessions, writing: Sessions) -> None:
        """Embed what is missing now and after every commit (poked by the writer)."""
        if self.enabled:
            self.embedder.start(self.loader, reading, writing)

    def poke(self) -> None:
        """A commit happened: new or changed skills may need vectors, and vectors this
        process stored are read into its index on the next search."""
        if self.enabled:
            self.embedder.poke()
            self.index.stale()

    def stale(self) -> None:
        """Vectors may have been stored elsewhere: read them into the index on the next
        search (no embedding here)."""
        if self.enabled:
            self.index.stale()

    async def stop(self) -> None:
        """Stop the background embedder, any graph being built and any query pass."""
        await self.embedder.stop()
        await self.index.stop()
        await self.queries.stop()

    async def nearest(self, reader: QuickReader, text: str) -> list[tuple[int, float]]:
        """(skill id, similarity) of the closest skills, best first; [] when off."""
        if not self.enabled or not text.strip():
            return []
        await self.index.refresh(reader)
        if not len(self.index):
            return []  # nothing embedded yet: no reason to load the model for a query
        vector = await self.queries.vector(text)
        if self.index.approximate or len(self.index) < INLINE_LIMIT:
            return self.index.nearest(vector, CANDIDATES, MIN_SIMILARITY)
        # The exact scan, ~4 ms per 10k vectors, until the index has its graph: off the
        # event loop (numpy releases the GIL).
        return await asyncio.to_thread(self.index.nearest, vector, CANDIDATES, MIN_SIMILARITY)
