"""Reciprocal rank fusion of the lexical and the semantic ranking.

Each list contributes `weight / (K + rank)` for the skills it holds; the sum orders
the results (exact name matches stay first, ties go by skill id). Ranks, not raw
scores, are fused: bm25-style and cosine scores live on unrelated scales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

K = 60
LEXICAL_WEIGHT = 1.0
SEMANTIC_WEIGHT = 1.0
SCALE = 1_000_000_000  # fused scores go into cursors: integers, never floats


@dataclass
class Fused:
    """A skill's place in the fused ranking and the rankings that put it there."""

    skill_id: int
    exact: int = 0
    score: int = 0
    matched: list[str] = field(default_factory=list)


def fuse(lexical: Sequence[tuple[int, int]], semantic: Sequence[int]) -> list[Fused]:
    """`lexical`: (skill id, exact) in lexical order; `semantic`: skill ids, closest first."""
    fused: dict[int, Fused] = {}
    scores: dict[int, float] = {}
    for rank, (skill_id, exact) in enumerate(lexical, start=1):
        entry = fused.setdefault(skill_id, Fused(skill_id))
        entry.exact = max(entry.exact, exact)
        entry.matched.append("lexical")
        scores[skill_id] = scores.get(skill_id, 0.0) + LEXICAL_WEIGHT / (K + rank)
    for rank, skill_id in enumerate(semantic, start=1):
        entry = fused.setdefault(skill_id, Fused(skill_id))
        entry.matched.append("semantic")
        scores[skill_id] = scores.get(skill_id, 0.0) + SEMANTIC_WEIGHT / (K + rank)
    for skill_id, entry in fused.items():
        entry.score = round(scores[skill_id] * SCALE)
    return sorted(fused.values(), key=lambda f: (-f.exact, -f.score, f.skill_id))
