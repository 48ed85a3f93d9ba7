"""argon2id password hashing, off the event loop and bounded so a login storm cannot stall it.

Hashes run on a small dedicated thread pool (argon2-cffi releases the GIL); logins
beyond its size wait in its queue instead of eating every core and all the memory.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_DUMMY_PASSWORD = "never a real password: only here to make failures cost the same"  # noqa: S105


class Passwords:
    """Hash and verify passwords with argon2id at the configured cost."""

    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, workers: int = 0
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        size = workers if workers > 0 else max(1, (os.cpu_count() or 2) // 2)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="argon2")
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """A new argon2id hash of `password`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> tuple[bool, bool]:
        """(matches, needs rehash). With no stored hash, verify a dummy so it costs the same."""
        if stored is None:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash(_DUMMY_PASSWORD)
            await self._check(self._dummy_hash, password[:MAX_PASSWORD_LENGTH])
            return False, False
        if len(password) > MAX_PASSWORD_LENGTH:
            # Never a valid password; still spend the same time as a real check.
            await self._check(stored, password[:MAX_PASSWORD_LENGTH])
            return False, False
        if not await self._check(stored, password):
            return False, False
        return True, self._hasher.check_needs_rehash(stored)

    async def _check(self, stored: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._hasher.verify, stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def warm_up(self) -> None:
        """Compute the dummy hash now, so the first unknown-user login is not faster."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(_DUMMY_PASSWORD)

    def close(self) -> None:
        """Stop the hashing threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
