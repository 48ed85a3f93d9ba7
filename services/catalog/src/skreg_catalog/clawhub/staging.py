"""Files uploaded by `clawhub publish`, held until the publish request that names them.

ClawHub publishes in steps: one upload per file, then `POST api/v1/skills` naming
the uploads. Nothing is written to the catalog before that last step, so an
abandoned publish leaves no version, no blob and no row: its uploads only wait
here, content-addressed (sha256) per user, until they expire (`TTL` seconds) or
the publish that uses them succeeds. Each user may hold at most one bundle's
worth (the bundle limits: files and unpacked bytes), and the in-memory store at
most `MEMORY_BUDGET_BUNDLES` bundles' worth for everyone, so staging costs
bounded memory whatever clients do. Redis shares the uploads between replicas
(an upload and its publish may reach different ones); the embedded process keeps
them in memory. Both satisfy one contract, tested against each.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis
from redis.exceptions import RedisError
from skreg_common.errors import RateLimited, TooLarge, Unavailable
from skreg_proto.bundle import BundleLimits

TTL = 15 * 60
MEMORY_BUDGET_BUNDLES = 4
BUSY_RETRY_AFTER = 30


def _over_budget(limits: BundleLimits) -> TooLarge:
    return TooLarge(
        f"you have more uploads waiting than one skill may hold ({limits.max_files} files, "
        f"{limits.max_total_bytes} bytes); publish them, or wait {TTL // 60} minutes "
        "for them to expire"
    )


@runtime_checkable
class UploadStaging(Protocol):
    """Uploaded files per user, by sha256, for `TTL` seconds."""

    async def put(self, user: str, sha256: str, data: bytes) -> None:
        """Hold `data` for `user` (TooLarge past the user's budget; a repeat is free)."""
        ...

    async def take(self, user: str, sha256s: Iterable[str]) -> dict[str, bytes]:
        """The held files among `sha256s` (missing or expired ones are left out)."""
        ...

    async def drop(self, user: str, sha256s: Iterable[str]) -> None:
        """Forget these files (their publish succeeded)."""
        ...


@dataclass
class _Held:
    data: bytes
    expires: float


@dataclass
class MemoryStaging:
    """The embedded process's staging: one dict, expired entries dropped as it goes."""

    limits: BundleLimits
    clock: Callable[[], float] = time.monotonic
    _users: dict[str, OrderedDict[str, _Held]] = field(default_factory=dict)
    _bytes: int = 0

    def _expire(self) -> None:
        now = self.clock()
        for user in list(self._users):
            held = self._users[user]
            for sha, item in list(held.items()):
                if item.expires <= now:
                    self._bytes -= len(held.pop(sha).data)
            if not held:
                del self._users[user]

    async def put(self, user: str, sha256: str, data: bytes) -> None:
        """Hold `data` for `user` (TooLarge past the user's budget; a repeat is free)."""
        self._expire()
        held = self._users.setdefault(user, OrderedDict())
        expires = self.clock() + TTL
        if sha256 in held:
            held[sha256].expires = expires
            return
        mine = sum(len(item.data) for item in held.values())
        if len(held) >= self.limits.max_files or mine + len(data) > self.limits.max_total_bytes:
            raise _over_budget(self.limits)
        if self._bytes + len(data) > MEMORY_BUDGET_BUNDLES * self.limits.max_total_bytes:
            raise RateLimited(BUSY_RETRY_AFTER, "too many uploads are waiting; try again soon")
        held[sha256] = _Held(data, expires)
        self._bytes += len(data)

    async def take(self, user: str, sha256s: Iterable[str]) -> dict[str, bytes]:
        """The held files among `sha256s` (missing or expired ones are left out)."""
        self._expire()
        held: dict[str, _Held] = self._users.get(user, {})
        return {sha: held[sha].data for sha in sha256s if sha in held}

    async def drop(self, user: str, sha256s: Iterable[str]) -> None:
        """Forget these files (their publish succeeded)."""
        held = self._users.get(user)
        if held is None:
            return
        for sha in sha256s:
            item = held.pop(sha, None)
            if item is not None:
                self._bytes -= len(item.data)
        if not held:
            del self._users[user]


@dataclass
class RedisStaging:
    """Staging shared by replicas: one key per file, and a per-user byte and file count.

    The counts expire with the user's last upload, so they never outlive the files
    they count; a file that expired earlier only keeps its bytes counted until then.
    """

    redis: Redis
    limits: BundleLimits
    prefix: str = "skreg:catalog:clawhub:"

    def _file(self, user: str, sha256: str) -> str:
        return f"{self.prefix}file:{user}:{sha256}"

    def _usage(self, user: str) -> str:
        return f"{self.prefix}usage:{user}"

    async def put(self, user: str, sha256: str, data: bytes) -> None:
        """Hold `data` for `user` (TooLarge past the user's budget; a repeat is free)."""
        usage = self._usage(user)
        try:
            if not await self.redis.set(self._file(user, sha256), data, ex=TTL, nx=True):
                await self.redis.expire(self._file(user, sha256), TTL)
                return
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(usage, "bytes", len(data))
                pipe.hincrby(usage, "files", 1)
                pipe.expire(usage, TTL)
                total, files, _ = await pipe.execute()
            if int(files) > self.limits.max_files or int(total) > self.limits.max_total_bytes:
                await self._forget(user, {sha256: len(data)})
                raise _over_budget(self.limits)
        except RedisError as exc:
            raise Unavailable("the upload store (Redis) is not reachable") from exc

    async def take(self, user: str, sha256s: Iterable[str]) -> dict[str, bytes]:
        """The held files among `sha256s` (missing or expired ones are left out)."""
        wanted = list(dict.fromkeys(sha256s))
        if not wanted:
            return {}
        try:
            values = await self.redis.mget([self._file(user, sha) for sha in wanted])
        except RedisError as exc:
            raise Unavailable("the upload store (Redis) is not reachable") from exc
        pairs = zip(wanted, values, strict=True)
        return {sha: bytes(value) for sha, value in pairs if value is not None}

    async def drop(self, user: str, sha256s: Iterable[str]) -> None:
        """Forget these files (their publish succeeded)."""
        held = await self.take(user, sha256s)
        await self._forget(user, {sha: len(data) for sha, data in held.items()})

    async def _forget(self, user: str, sizes: dict[str, int]) -> None:
        if not sizes:
            return
        usage = self._usage(user)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(*[self._file(user, sha) for sha in sizes])
                pipe.hincrby(usage, "bytes", -sum(sizes.values()))
                pipe.hincrby(usage, "files", -len(sizes))
                await pipe.execute()
        except RedisError as exc:
            raise Unavailable("the upload store (Redis) is not reachable") from exc


def staging_for(redis: Redis | None, limits: BundleLimits) -> UploadStaging:
    """Redis when the process has it (replicas share uploads), else this process's memory."""
    return MemoryStaging(limits) if redis is None else RedisStaging(redis, limits)
