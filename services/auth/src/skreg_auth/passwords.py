"""argon2id password hashing, off the event loop and bounded so a login storm cannot stall it.

Hashes run on a small dedicated thread pool (argon2-cffi releases the GIL). Work
waiting for it is bounded per lane: sign-ins may queue a few hashes per thread,
registrations a quarter of that, so a flood of either cannot put everyone else's
sign-in behind a queue of tens of seconds; beyond that the caller gets an early 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from skreg_common.errors import RateLimited

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
_DUMMY_PASSWORD = "never a real password: only here to make failures cost the same"  # noqa: S105
# Hashes a sign-in may find ahead of it per hashing thread (0 in the settings: this).
QUEUE_PER_WORKER = 8
BUSY = "the server is busy checking passwords; try again in a moment"

Lane = Literal["sign_in", "register"]
T = TypeVar("T")


class Passwords:
    """Hash and verify passwords with argon2id at the configured cost."""

    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        workers: int = 0,
        queue: int = 0,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        size = workers if workers > 0 else max(1, (os.cpu_count() or 2) // 2)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="argon2")
        sign_in = queue if queue > 0 else size * QUEUE_PER_WORKER
        # Registrations get a quarter of what sign-ins get, in a lane of their own: a
        # registration flood can delay a sign-in by at most that many hashes.
        self._capacity: dict[Lane, int] = {"sign_in": sign_in, "register": max(1, sign_in // 4)}
        self._in_flight: dict[Lane, int] = {"sign_in": 0, "register": 0}
        self._dummy_hash: str | None = None

    async def _run(self, lane: Lane, work: Callable[[], T]) -> T:
        """Run `work` on the pool if `lane` has room (running or queued), else a 429 at once."""
        if self._in_flight[lane] >= self._capacity[lane]:
            raise RateLimited(1, BUSY)
        self._in_flight[lane] += 1
        loop = asyncio.get_running_loop()
        job = self._executor.submit(work)
        # The place is given back when the thread is done, not when the caller stops
        # waiting: a cancelled request's hash still occupies a thread until it ends.
        job.add_done_callback(lambda _: _call_soon(loop, self._done, lane))
        return await asyncio.wrap_future(job)

    def _done(self, lane: Lane) -> None:
        self._in_flight[lane] -= 1

    async def hash(self, password: str, lane: Lane = "sign_in") -> str:
        """A new argon2id hash of `password` (`RateLimited` when the lane is full)."""
        return await self._run(lane, lambda: self._hasher.hash(password))

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
        try:
            return await self._run("sign_in", lambda: self._hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def warm_up(self) -> None:
        """Compute the dummy hash now, so the first unknown-user login is not faster."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(_DUMMY_PASSWORD)

    def close(self) -> None:
        """Stop the hashing threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[[Lane], None], lane: Lane
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is counting any more
        loop.call_soon_threadsafe(callback, lane)
