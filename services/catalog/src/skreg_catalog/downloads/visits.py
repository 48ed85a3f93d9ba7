"""One download request as the counter sees it: which client, which UTC day.

Every route that serves a version's bytes (the bundle, the discovery index's
archive, the ClawHub ZIP) counts through this, so a client is named the same way
whichever way it downloads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.background_tasks import BackgroundTask
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.downloads.service import DownloadCounter, client_key

if TYPE_CHECKING:
    from skreg_catalog.context import CatalogContext


@dataclass(frozen=True)
class DownloadVisit:
    """This request's client for today, and the counter that remembers it."""

    counter: DownloadCounter
    client: str
    day: dt.date

    def known(self, version_id: int) -> bool:
        """Counted already, as far as this process knows (no query)."""
        return self.counter.known(version_id, self.client, self.day)

    async def seen(self, session: AsyncSession, version_id: int) -> bool:
        """Counted already, according to the database."""
        return await self.counter.seen(session, version_id, self.client, self.day)

    def count_later(self, version_id: int, skill_id: int) -> BackgroundTask:
        """Count after the response is sent, in a transaction of its own."""
        return BackgroundTask(self.counter.count, version_id, skill_id, self.client, self.day)


def download_visit(request: Request[Any, Any, Any], catalog: CatalogContext) -> DownloadVisit:
    """The visit of `request`'s client (behind a trusted proxy, the address it forwarded)."""
    day = dt.datetime.now(dt.UTC).date()
    address = request.client.host if request.client else "unknown"
    client = client_key(catalog.settings.secret_key, day, address)
    return DownloadVisit(catalog.downloads(request.app.state.runtime), client, day)
