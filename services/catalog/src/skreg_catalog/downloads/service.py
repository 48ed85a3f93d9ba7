"""Download counting: per version per UTC day, each client address counted at most once a day.

A client is its address (behind trusted proxies, the one they forwarded), whoever
is signed in and whatever it calls itself: user agents and accounts cost nothing
to rotate, addresses do. An IPv6 client is its /64, the block one host or one
home is given. Only a keyed hash is stored, never an address; the day is part of
the hash, so one client cannot be followed across days.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import structlog
from cachetools import LRUCache
from skreg_common.db import insert_for, rows_affected
from skreg_common.forwarded import address_bucket
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.downloads.models import DownloadClient, DownloadDay
from skreg_catalog.skills.models import Skill, Version
from skreg_catalog.writer import CatalogWriter

log = structlog.get_logger(__name__)

KNOWN_CLIENTS = 100_000

_SEEN = select(DownloadClient.client).where(
    DownloadClient.version_id == bindparam("version_id"),
    DownloadClient.day == bindparam("day"),
    DownloadClient.client == bindparam("client"),
)


def client_key(secret: str, day: dt.date, address: str) -> str:
    """A keyed hash naming one client for one day (never reversible to an address)."""
    message = f"{day.isoformat()}\0addr:{address_bucket(address)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:48]


class DownloadCounter:
    """Counts downloads in short transactions of their own, after the response is sent.

    A count is a side effect of serving a file, not part of reading it: the
    request only checks (read-only) whether this client was counted today, and
    the write runs once the request has released its connection, so a download
    never waits for the writer's turn or holds two connections. The write goes
    through the catalog's one write path (`skreg_catalog.writer`), which also makes
    the read cache forget the old counts once it commits.
    """

    def __init__(self, writer: CatalogWriter) -> None:
        self._writer = writer
        # Clients known to be counted already (a bounded memory of the table's newest
        # rows), so repeat downloads need no query at all.
        self._known: LRUCache[tuple[int, dt.date, str], bool] = LRUCache(KNOWN_CLIENTS)

    def known(self, version_id: int, client: str, day: dt.date) -> bool:
        """True when this process knows the client was counted (False: ask `seen`)."""
        return (version_id, day, client) in self._known

    def _remember(self, version_id: int, client: str, day: dt.date) -> None:
        self._known[(version_id, day, client)] = True

    async def seen(self, session: AsyncSession, version_id: int, client: str, day: dt.date) -> bool:
        """Whether this client was already counted for this version today."""
        params = {"version_id": version_id, "day": day, "client": client}
        seen = (await session.execute(_SEEN, params)).first() is not None
        if seen:
            self._remember(version_id, client, day)
        return seen

    async def count(self, version_id: int, skill_id: int, client: str, day: dt.date) -> bool:
        """Count one download unless already counted; True when counted.

        The insert that decides is atomic on both backends, so two racing first
        downloads by one client count once.
        """
        try:
            counted = await self._write(version_id, skill_id, client, day)
        except Exception:
            # The file was served already; a lost count must not look like a failed download.
            log.exception("download.count_failed", version_id=version_id)
            return False
        self._remember(version_id, client, day)
        return counted

    async def _write(self, version_id: int, skill_id: int, client: str, day: dt.date) -> bool:
        async with self._writer.transaction() as session:
            insert = insert_for(session)
            claimed = await session.execute(
                insert(DownloadClient)
                .values(version_id=version_id, day=day, client=client)
                .on_conflict_do_nothing()
            )
            if rows_affected(claimed) != 1:
                return False
            await session.execute(
                insert(DownloadDay)
                .values(version_id=version_id, day=day, count=1)
                .on_conflict_do_update(
                    index_elements=[DownloadDay.version_id, DownloadDay.day],
                    set_={"count": DownloadDay.__table__.c.count + 1},
                )
            )
            await session.execute(
                update(Version)
                .where(Version.id == version_id)
                .values(downloads=Version.downloads + 1)
            )
            await session.execute(
                update(Skill).where(Skill.id == skill_id).values(downloads=Skill.downloads + 1)
            )
        return True
