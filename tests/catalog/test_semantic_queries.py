"""Query vectors embedded in batches (`skreg_catalog.semantic.queries`), with the real model."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from skreg_catalog.semantic import queries as semantic_queries
from skreg_catalog.semantic.embedder import Loader
from skreg_catalog.semantic.model import SentenceEncoder, Vectors, shared_encoder
from skreg_catalog.semantic.queries import QueryVectors

TEXTS = [
    "fill in a PDF form",
    "fix the failing checks on my pull request",
    "deploy to kubernetes",
    "pdf",
    "write conventional commit messages from the staged diff of my repository",
    "run a job every night at 2am",
]


class CountingEncoder:
    """The real encoder, with the texts of each pass it was asked for recorded; a pass
    holding `poison` raises."""

    def __init__(self) -> None:
        self.real = shared_encoder()
        self.passes: list[list[str]] = []
        self.poison: str | None = None
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def embed(self, texts: list[str]) -> Vectors:
        self.passes.append(list(texts))
        self.entered.set()
        self.release.wait(10)
        if self.poison in texts:
            raise RuntimeError("the encoder broke")
        return self.real.embed(texts)


@pytest.fixture(scope="module")
def alone() -> dict[str, Vectors]:
    """Each text's vector embedded on its own."""
    encoder = shared_encoder()
    return {text: encoder.embed([text])[0] for text in TEXTS}


def _queries(encoder: CountingEncoder) -> QueryVectors:
    return QueryVectors(Loader(make=lambda: encoder))  # type: ignore[arg-type,return-value]


async def test_queries_arriving_together_share_a_pass_and_get_their_own_vectors(
    alone: dict[str, Vectors],
) -> None:
    encoder = CountingEncoder()
    queries = _queries(encoder)
    encoder.release.clear()  # hold the first pass so the others queue behind it
    first = asyncio.create_task(queries.vector(TEXTS[0]))
    assert await asyncio.to_thread(encoder.entered.wait, 10)  # the pass is in the encoder
    asked = [*TEXTS[1:], TEXTS[1], TEXTS[0]]  # one queued twice, one in the pass under way
    rest = [asyncio.create_task(queries.vector(t)) for t in asked]
    await asyncio.sleep(0.05)
    encoder.release.set()
    vectors = await asyncio.gather(first, *rest)
    # One pass for the first, one for everything that arrived during it (each text once).
    assert encoder.passes == [[TEXTS[0]], TEXTS[1:]]
    for text, vector in zip([TEXTS[0], *asked], vectors, strict=True):
        assert vector.shape == (384,)
        np.testing.assert_allclose(vector, alone[text], atol=1e-5)
    # Remembered: asked again, no pass.
    again = await queries.vector(TEXTS[3])
    np.testing.assert_array_equal(again, vectors[3])
    assert len(encoder.passes) == 2


async def test_passes_hold_at_most_max_batch_queries(
    monkeypatch: pytest.MonkeyPatch, alone: dict[str, Vectors]
) -> None:
    monkeypatch.setattr(semantic_queries, "MAX_BATCH", 2)
    encoder = CountingEncoder()
    queries = _queries(encoder)
    vectors = await asyncio.gather(*(queries.vector(t) for t in TEXTS))
    assert [len(p) for p in encoder.passes] == [2, 2, 2]
    assert sorted(t for p in encoder.passes for t in p) == sorted(TEXTS)
    for text, vector in zip(TEXTS, vectors, strict=True):
        np.testing.assert_allclose(vector, alone[text], atol=1e-5)


async def test_a_search_that_gives_up_leaves_the_vector_to_the_others() -> None:
    encoder = CountingEncoder()
    queries = _queries(encoder)
    encoder.release.clear()
    quitter = asyncio.create_task(queries.vector("merge two PDF files"))
    stayer = asyncio.create_task(queries.vector("merge two PDF files"))
    assert await asyncio.to_thread(encoder.entered.wait, 10)  # the pass is in the encoder
    quitter.cancel()
    encoder.release.set()
    vector = await stayer
    assert vector.shape == (384,)
    assert quitter.cancelled()


async def test_a_text_the_encoder_fails_on_fails_its_own_searches_only(
    alone: dict[str, Vectors],
) -> None:
    encoder = CountingEncoder()
    queries = _queries(encoder)
    encoder.poison = TEXTS[1]
    results = await asyncio.gather(
        queries.vector(TEXTS[0]), queries.vector(TEXTS[1]), return_exceptions=True
    )
    # The pass failed; each text was then tried alone.
    assert encoder.passes == [TEXTS[:2], [TEXTS[0]], [TEXTS[1]]]
    assert isinstance(results[1], RuntimeError), results
    assert not isinstance(results[0], BaseException)
    np.testing.assert_allclose(results[0], alone[TEXTS[0]], atol=1e-5)
    encoder.poison = None
    vector = await queries.vector(TEXTS[1])  # not remembered as failed: embedded now
    np.testing.assert_allclose(vector, alone[TEXTS[1]], atol=1e-5)


async def test_a_model_that_will_not_load_fails_the_searches_and_is_tried_again() -> None:
    attempts: list[int] = []

    def broken() -> SentenceEncoder:
        attempts.append(1)
        raise OSError("no weights")

    queries = QueryVectors(Loader(make=broken))
    results = await asyncio.gather(
        queries.vector(TEXTS[0]), queries.vector(TEXTS[1]), return_exceptions=True
    )
    assert all(isinstance(r, OSError) for r in results), results
    with pytest.raises(OSError, match="no weights"):
        await queries.vector(TEXTS[0])
    assert len(attempts) == 2  # once per pass: a later search loads again


async def test_stopping_cancels_the_searches_still_waiting() -> None:
    encoder = CountingEncoder()
    queries = _queries(encoder)
    encoder.release.clear()
    running = asyncio.create_task(queries.vector(TEXTS[0]))
    assert await asyncio.to_thread(encoder.entered.wait, 10)  # the pass is in the encoder
    queued = asyncio.create_task(queries.vector(TEXTS[1]))
    await asyncio.sleep(0.01)
    stopping = asyncio.create_task(queries.stop())
    await asyncio.sleep(0.01)
    encoder.release.set()  # the worker thread finishes; its pass was cancelled
    await stopping
    for task in (running, queued):
        with pytest.raises(asyncio.CancelledError):
            await task


def test_counting_encoder_is_the_real_one() -> None:
    assert isinstance(CountingEncoder().real, SentenceEncoder)
