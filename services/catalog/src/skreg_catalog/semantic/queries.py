"""Query vectors for one process: remembered, and embedded together when they arrive together.

One query's pass through MiniLM reads every weight matrix (42 MB of float32) to
multiply a handful of rows by it, so it costs about the same at 3 tokens as at 20:
9-12 ms of one core here, bound by memory, not arithmetic. Searches ran those passes
one after another (the encoder takes one at a time), so a process answered at most
~100 new queries a second, whatever its other costs.

Here a query that is not remembered waits for the pass under way, if any, and then
goes through the next one with every other query that arrived meanwhile (up to
`MAX_BATCH`): the weights are read once for all of them. An idle process embeds a
lone query at once. The same text asked again before its vector is ready (queued or
in the pass under way) shares that vector. A batch's vectors equal those of each text
embedded alone up to float rounding (~1e-7): rows are padded only within groups of
like lengths, and padding never attends. Should a pass fail, each of its texts is
tried alone, so one text the encoder cannot take fails its own searches only.
"""

from __future__ import annotations

import asyncio
import itertools

from cachetools import LRUCache

from skreg_catalog.semantic.embedder import Loader
from skreg_catalog.semantic.model import SentenceEncoder, Vectors

REMEMBERED = 1024
"""Query vectors kept per process (1.5 KB each)."""
MAX_BATCH = 32
"""Queries per pass at most (a pass over 32 short queries takes a few tens of ms)."""


class QueryVectors:
    """The vector of a query's text, embedded in batches with the queries beside it."""

    def __init__(self, loader: Loader, remembered: int = REMEMBERED) -> None:
        self._loader = loader
        self._remembered: LRUCache[str, Vectors] = LRUCache(remembered)
        self._waiting: dict[str, asyncio.Future[Vectors]] = {}  # for the next pass
        self._embedding: dict[str, asyncio.Future[Vectors]] = {}  # in the pass under way
        self._passes: asyncio.Task[None] | None = None

    async def vector(self, text: str) -> Vectors:
        """The unit vector of `text` (one row of 384 float32)."""
        known = self._remembered.get(text)
        if known is not None:
            return known
        future = self._embedding.get(text)
        if future is None:
            future = self._waiting.get(text)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[text] = future
        if self._waiting and (self._passes is None or self._passes.done()):
            self._passes = asyncio.create_task(self._embed_waiting())
        # Shielded: a search that gives up must not cancel the vector others wait for.
        return await asyncio.shield(future)

    async def _embed_waiting(self) -> None:
        while self._waiting:
            texts = list(itertools.islice(self._waiting, MAX_BATCH))
            self._embedding = {text: self._waiting.pop(text) for text in texts}
            try:
                try:
                    encoder = await self._loader()
                    outcomes = await asyncio.to_thread(_embed_each, encoder, texts)
                except Exception as error:  # the model would not load
                    outcomes = [error] * len(texts)
                for text, outcome in zip(texts, outcomes, strict=True):
                    future = self._embedding[text]
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(outcome)
                        future.exception()  # retrieved: its searches may have given up
                    else:
                        self._remembered[text] = outcome
                        future.set_result(outcome)
            finally:
                for future in self._embedding.values():  # cancelled: the service stopping
                    if not future.done():
                        future.cancel()
                self._embedding = {}

    async def stop(self) -> None:
        """Cancel the pass under way and every search waiting for a vector."""
        if self._passes is not None and not self._passes.done():
            self._passes.cancel()
            await asyncio.gather(self._passes, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()


def _embed_each(encoder: SentenceEncoder, texts: list[str]) -> list[Vectors | Exception]:
    """Each text's vector (a row of its own, not a view keeping the batch alive), in one
    pass; if the pass fails, text by text, with the error of any text that fails alone."""
    try:
        return [row.copy() for row in encoder.embed(texts)]
    except Exception as error:
        if len(texts) == 1:
            return [error]
    found: list[Vectors | Exception] = []
    for text in texts:
        try:
            found.append(encoder.embed([text])[0].copy())
        except Exception as error:  # each text its own outcome
            found.append(error)
    return found
