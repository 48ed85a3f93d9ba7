"""`/api/v1/auth/audit` (admins)."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from skreg_common.principal import requires_admin
from skreg_proto.auth import AuditEventOut
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.audit.service import AuditService


@get("/audit", guards=[requires_admin()])
async def list_audit_events(
    db_session: NamedDependency[AsyncSession],
    action: FromQuery[str | None] = None,
    actor_id: FromQuery[str | None] = None,
    target_id: FromQuery[str | None] = None,
    limit: FromQuery[int | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Page[AuditEventOut]:
    """The audit log, newest first, filtered by action, actor or target."""
    return await AuditService(db_session).list_events(
        action=action,
        actor_id=actor_id,
        target_id=target_id,
        limit=limit,
        cursor=cursor,
    )


HANDLERS = [list_audit_events]
