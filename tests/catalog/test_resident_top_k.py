"""In-memory scoring's top-k (`search.resident._best`) against a full sort.

The best `n` are by score descending, then id ascending, whatever the cut by blocks'
maxima (`_floor_of_best`) keeps: many ties, a block size smaller than `n`, positions
given or not.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skreg_catalog.search import resident


def reference(where: list[int], scores: list[int], ids: list[int], n: int) -> list[int]:
    return sorted(where, key=lambda at: (-scores[at], ids[at]))[: max(n, 0)]


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(st.integers(0, 6), min_size=0, max_size=400),
    n=st.integers(0, 30),
    block=st.sampled_from([1, 2, 3, 8, 64]),
    subset=st.booleans(),
    data=st.data(),
)
def test_best_is_the_sorted_top(
    scores: list[int], n: int, block: int, subset: bool, data: st.DataObject
) -> None:
    ids = sorted(
        data.draw(st.sets(st.integers(1, 10**6), min_size=len(scores), max_size=len(scores)))
    )
    where = list(range(len(scores)))
    if subset:
        where = sorted(data.draw(st.sets(st.sampled_from(where))) if where else set())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(resident, "BLOCK", block)
        best = resident._best(
            None if not subset else np.array(where, dtype=np.intp),
            np.array(scores, dtype=np.int64) * 10**9,
            np.array(ids, dtype=np.int64),
            n,
        )
    assert best == reference(where, scores, ids, n)


def test_a_broad_match_is_cut_before_it_is_partitioned() -> None:
    scores = np.random.default_rng(7).integers(0, 50, 100_000) * 10**9
    floor = resident._floor_of_best(scores, 21)
    assert floor is not None
    kept = int((scores >= floor).sum())
    assert 21 <= kept < 10_000  # every one of the best, and far from all 100,000
    assert (np.sort(scores)[-21:] >= floor).all()
