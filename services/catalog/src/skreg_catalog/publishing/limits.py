"""Publishing limits: a rate per user (429) and a storage quota per namespace owner (413).

The rate is spent before the upload is read, so a refused publisher costs no
bandwidth or bundle checks. Imports from Git skip it (the importer's side door:
a first import publishes hundreds of skills at once, and each source is bounded
by the importer's own scheduling) but their versions count toward the quota.

The quota sums the unpacked size of every version in the owner's namespaces
that is not purged: deleted versions keep their rows (SKILL.md text included)
and blobs until `python -m skreg_catalog.purge` drops them, so they count until
then. Unpacked, not compressed: the SKILL.md text is stored apart from the blob,
and a highly compressible bundle would otherwise store far more than it is charged.
The check runs after the version is written, in the same transaction, so a
refusal rolls everything back and an identical retry (nothing new) is never refused.
Concurrent publishes by one owner on PostgreSQL may each pass and overshoot
by at most one bundle each.
"""

from __future__ import annotations

from skreg_common.errors import QuotaExceeded, RateLimited
from skreg_common.principal import Principal
from skreg_common.throttle import Throttle
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.settings import CatalogSettings
from skreg_catalog.skills.models import Namespace, Skill, Version


async def spend_publish(settings: CatalogSettings, rate: Throttle, principal: Principal) -> None:
    """Count one publish of `principal`; 429 with `Retry-After` once the budget is spent."""
    if settings.publish_rate_limit <= 0:
        return
    slot = await rate.reserve(f"user:{principal.id}", settings.publish_rate_limit)
    wait = slot.retry_after
    if wait:
        raise RateLimited(
            wait,
            f"publish rate limit: at most {settings.publish_rate_limit} publishes per "
            f"{settings.publish_rate_window} s per user; try again in {wait} s",
        )


async def storage_used(session: AsyncSession, owner_id: str) -> int:
    """Unpacked bytes of the versions in `owner_id`'s namespaces (deleted too, until purged)."""
    query = (
        select(func.coalesce(func.sum(Version.size), 0))
        .join(Skill, Skill.id == Version.skill_id)
        .join(Namespace, Namespace.id == Skill.namespace_id)
        .where(Namespace.owner_id == owner_id, Version.purged_at.is_(None))
    )
    return int((await session.execute(query)).scalar_one())


async def check_quota(session: AsyncSession, settings: CatalogSettings, skill: Skill) -> None:
    """413 when the skill's namespace owner is now over the quota (call after writing)."""
    quota = settings.storage_quota_bytes
    namespace = await session.get(Namespace, skill.namespace_id)
    if quota <= 0 or namespace is None or namespace.owner_id is None:
        return  # unowned namespaces are created by imports and managed by admins
    used = await storage_used(session, namespace.owner_id)
    if used > quota:
        owner = namespace.owner_name or namespace.owner_id
        raise QuotaExceeded(
            f"storage quota exceeded: the namespaces of {owner} would hold {used} bytes "
            f"(unpacked) of {quota} allowed. Deleted versions count until they are purged, "
            f"{settings.purge_after_days} days after deletion; delete what is not needed "
            "or ask an admin for a larger quota."
        )
