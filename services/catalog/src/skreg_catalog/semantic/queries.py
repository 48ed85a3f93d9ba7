"""Query vectors for one process: remembered, and embedded together when they arrive together.

One query's pass through MiniLM reads every weight matrix (42 MB of float32) to
multiply a handful of rows by it, so it costs about the same at 3 tokens as at 20:
9-12 ms of one core here, bound by memory, not arithmetic. Searches ran those passes
one after another (the encoder takes one at a time), so a process answered at most
~100 new queries a second, whatever its other costs.

Here a query that is not remembered waits for the pass under way, if any, and then
goes through the next one with every other query that arrived meanwhile (up to
`MAX_BATCH`): the weights are read once for all of them. An idle process embeds a
lone query at once, as before. The same text asked twice while waiting shares one
vector. Vectors are the ones `SentenceEncoder.embed` gives for the text alone: rows
of a batch are padded only within groups of like lengths, and padding never attends.
"""

from __future__ import annotations

import asyncio
import itertools

from cachetools import LRUCache

from skreg_catalog.semantic.embedder import Loader
from skreg_catalog.semantic.model import Vectors

REMEMBERED = 1024
"""Query vectors kept per process (1.5 KB each)."""
MAX_BATCH = 32
"""Queries per pass at most (a pass over 32 short queries takes a few tens of ms)."""


class QueryVectors:
    """The vector of a query's text, embedded in batches with the queries beside it."""

    def __init__(self, loader: Loader, remembered: int = REMEMBERED) -> None:
        self._loader = loader
        self._remembered: LRUCache[str, Vectors] = LRUCache(remembered)
        self._waiting: dict[str, asyncio.Future[Vectors]] = {}
        self._passes: asyncio.Task[None] | None = None

    async def vector(self, text: str) -> Vectors:
        """The unit vector of `text` (one row of 384 float32)."""
        known = self._remembered.get(text)
        if known is not None:
            return known
        future = self._waiting.get(text)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[text] = future
            if self._passes is None or self._passes.done():
                self._passes = asyncio.create_task(self._embed_waiting())
        # Shielded: a search that gives up must not cancel the vector others wait for.
        return await asyncio.shield(future)

    async def _embed_waiting(self) -> None:
        while self._waiting:
            texts = list(itertools.islice(self._waiting, MAX_BATCH))
            futures = [self._waiting.pop(text) for text in texts]
            try:
                encoder = await self._loader()
                vectors = await asyncio.to_thread(encoder.embed, texts)
            except Exception as error:  # every search waiting on this pass gets it
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
                        future.exception()  # retrieved: a waiter may have given up
            else:
                for text, future, vector in zip(texts, futures, vectors, strict=True):
                    own = vector.copy()  # a row of its own, not a view keeping the batch alive
                    self._remembered[text] = own
                    if not future.done():
                        future.set_result(own)
            finally:
                for future in futures:  # the pass was cancelled (the service stopping)
                    if not future.done():
                        future.cancel()

    async def stop(self) -> None:
        """Cancel the pass under way and every search waiting for a vector."""
        if self._passes is not None and not self._passes.done():
            self._passes.cancel()
            await asyncio.gather(self._passes, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()
