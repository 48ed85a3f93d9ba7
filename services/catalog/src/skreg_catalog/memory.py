"""In-process caches bounded by the bytes they hold (cachetools' LRU with a size function).

Used for values that are immutable under their key (blobs by digest, rendered HTML by
content hash), which never need invalidating, and under the read cache
(`skreg_catalog.cache`), which forgets everything when this process writes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class SizedLRU(LRUCache[Hashable, V]):
    """An LRU whose bound is the total size of its values (`sizeof` of each, in bytes),
    and, when `max_entries` is given, their number too.

    `remember` does not keep a value over a quarter of the budget at all: one large text
    or blob must not flush everything else (cachetools would evict all others for it).
    """

    def __init__(
        self, max_bytes: int, sizeof: Callable[[V], int], max_entries: int | None = None
    ) -> None:
        super().__init__(maxsize=max_bytes, getsizeof=sizeof)
        self.max_entries = max_entries

    def __setitem__(self, key: Hashable, value: V) -> None:
        if self.max_entries is not None and key not in self:
            while self and len(self) >= self.max_entries:
                self.popitem()  # the least recently used
        super().__setitem__(key, value)

    def remember(self, key: Hashable, value: V) -> None:
        """Keep `value` under `key` unless it is too large to be worth the room."""
        if self.getsizeof(value) <= self.maxsize // 4:
            self[key] = value
