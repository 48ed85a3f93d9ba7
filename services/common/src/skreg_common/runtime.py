"""The live resources a process shares between its services: engine, sessions, Redis."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from skreg_common.db import SQLITE_BUSY_TIMEOUT_MS, create_engine, create_sessionmaker
from skreg_common.quickread import QuickReader
from skreg_common.settings import ServiceSettings


@dataclass
class Runtime:
    """Opened once per process; the all-in-one gateway hands the same one to every service."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis | None = None
    quick: QuickReader = field(init=False)

    def __post_init__(self) -> None:
        self.quick = QuickReader(self.engine, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)

    @classmethod
    def open(cls, settings: ServiceSettings) -> Runtime:
        """Create the engine (lazy: no connection yet) and the Redis client if configured."""
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            connect_timeout=settings.db_connect_timeout,
            pool_timeout=settings.db_pool_timeout,
            sqlite_driver=settings.sqlite_driver,
        )
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        return cls(
            settings=settings, engine=engine, sessions=create_sessionmaker(engine), redis=redis
        )

    async def close(self) -> None:
        """Release connections."""
        self.quick.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
