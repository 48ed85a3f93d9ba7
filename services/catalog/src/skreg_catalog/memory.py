"""In-process caches bounded by the bytes they hold (cachetools' LRU with a size function).

Used for values that are immutable under their key (blobs by digest, rendered HTML by
content hash), so nothing here ever needs invalidating.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class SizedLRU(LRUCache[Hashable, V]):
    """An LRU whose bound is the total size of its values (`sizeof` of each, in bytes).

    A value over a quarter of the budget is not kept at all: one large text or blob must
    not flush everything else (cachetools would evict all others to make room for it).
    """

    def __init__(self, max_bytes: int, sizeof: Callable[[V], int]) -> None:
        super().__init__(maxsize=max_bytes, getsizeof=sizeof)

    def remember(self, key: Hashable, value: V) -> None:
        """Keep `value` under `key` unless it is too large to be worth the room."""
        if self.getsizeof(value) <= self.maxsize // 4:
            self[key] = value
