"""Credential revocations shared by every verifier: the in-process list and its Redis broadcast.

Access JWTs are verified locally, so revoking one (a disabled user, a changed role, a
logout) needs every process to learn about it. Auth applies each revocation to its own
`RevocationList` the moment the change commits, and, when Redis is configured,
records it in a hash (for processes starting later) and publishes it (for running
ones). Entries expire once every token they could void has expired on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from skreg_proto.auth import RevocationEvent
from skreg_proto.codec import from_json, to_json

REVOCATION_CHANNEL = "skreg:auth:revocations"
REVOCATION_HASH = "skreg:auth:revoked"
RECONNECT_DELAY_S = 1.0

log = structlog.get_logger(__name__)

Listener = Callable[[RevocationEvent], None]


class RevocationList:
    """What this process knows has been revoked; cheap to consult on every request."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._users: dict[str, tuple[int, float]] = {}  # user id -> (min token version, until)
        self._sessions: dict[str, float] = {}  # session id -> until
        self._listeners: list[Listener] = []
        # Bumped on every event: a cache fill that started before it must not be kept.
        self.generation = 0

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every event applied from now on."""
        self._listeners.append(listener)

    def apply(self, event: RevocationEvent) -> None:
        """Record `event` (idempotent; a lower version never undoes a higher one)."""
        self.generation += 1
        now = self._clock()
        if event.until > now:
            if event.kind == "user":
                version, until = self._users.get(event.id, (0, 0.0))
                self._users[event.id] = (max(version, event.min_version), max(until, event.until))
            elif event.kind == "session":
                self._sessions[event.id] = max(self._sessions.get(event.id, 0.0), event.until)
        for listener in self._listeners:
            listener(event)
        if len(self._users) + len(self._sessions) > 1024:
            self.prune(now)

    def prune(self, now: float | None = None) -> None:
        """Forget entries whose tokens have all expired."""
        now = self._clock() if now is None else now
        self._users = {k: v for k, v in self._users.items() if v[1] > now}
        self._sessions = {k: v for k, v in self._sessions.items() if v > now}

    def token_revoked(self, user_id: str, version: int, session_id: str | None) -> bool:
        """True when an access token of `user_id` at `version` in `session_id` is void."""
        entry = self._users.get(user_id)
        if entry is not None and version < entry[0] and entry[1] > self._clock():
            return True
        if session_id is not None:
            until = self._sessions.get(session_id)
            return until is not None and until > self._clock()
        return False


def _field(event: RevocationEvent) -> str:
    return f"{event.kind}:{event.id}"


async def publish_revocation(redis: Redis, event: RevocationEvent) -> None:
    """Record `event` for late starters and tell every running process about it."""
    payload = to_json(event)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(REVOCATION_HASH, _field(event), payload.decode())
        pipe.publish(REVOCATION_CHANNEL, payload)
        await pipe.execute()
    await _prune_hash(redis)


async def _recorded(redis: Redis) -> dict[Any, Any]:
    # redis-py types its commands as "sync or async"; on the asyncio client they are async.
    return await cast(Awaitable[dict[Any, Any]], redis.hgetall(REVOCATION_HASH))


async def _prune_hash(redis: Redis) -> None:
    # The hash only holds entries younger than an access token's lifetime, so it stays small.
    now = time.time()
    stale = []
    for field, raw in (await _recorded(redis)).items():
        try:
            if from_json(raw, RevocationEvent).until <= now:
                stale.append(field)
        except msgspec.MsgspecError:
            stale.append(field)
    if stale:
        await cast(Awaitable[int], redis.hdel(REVOCATION_HASH, *stale))


async def load_revocations(redis: Redis, revocations: RevocationList) -> int:
    """Apply every recorded, still relevant revocation; returns how many were applied."""
    count = 0
    for raw in (await _recorded(redis)).values():
        try:
            event = from_json(raw, RevocationEvent)
        except msgspec.MsgspecError:
            continue
        revocations.apply(event)
        count += 1
    return count


class RevocationSubscriber:
    """Keeps a RevocationList current from Redis: the recorded hash, then the live channel."""

    def __init__(self, redis: Redis, revocations: RevocationList) -> None:
        self._redis = redis
        self._revocations = revocations
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Subscribe, then load the recorded revocations (in that order, so none slip by)."""
        self._task = asyncio.create_task(self._run(), name="revocation-subscriber")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                # Missed events are re-read from the hash after reconnecting.
                log.warning("revocations.disconnected", error=type(exc).__name__)
                await asyncio.sleep(RECONNECT_DELAY_S)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(REVOCATION_CHANNEL)
            await load_revocations(self._redis, self._revocations)
            self._ready.set()
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    event = from_json(message["data"], RevocationEvent)
                except msgspec.MsgspecError:
                    log.warning("revocations.bad_message")
                    continue
                self._revocations.apply(event)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
