"""Writing and reading the audit log."""

from __future__ import annotations

from typing import Any

from skreg_common.errors import BadRequest
from skreg_common.principal import Principal
from skreg_proto.auth import AuditEventOut
from skreg_proto.pagination import InvalidCursor, Page, clamp_limit, decode_cursor, encode_cursor
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.audit.convert import to_event
from skreg_auth.audit.models import AuditEvent
from skreg_auth.inputs import is_clean, printable


class AuditService:
    """The audit log, through one session: events commit (or not) with what they record."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        action: str,
        *,
        outcome: str = "success",
        actor: Principal | None = None,
        actor_id: str | None = None,
        actor_name: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        client_ip: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Add an event to the session's transaction (it commits with the change it records)."""
        if actor is not None:
            actor_id = actor_id or actor.id
            actor_name = actor_name or actor.username
        self.session.add(
            AuditEvent(
                action=action,
                outcome=outcome,
                actor_id=actor_id,
                actor_name=printable(actor_name or "", 64) or None,
                target_type=target_type,
                target_id=target_id,
                client_ip=client_ip,
                details=details or {},
            )
        )

    async def list_events(
        self,
        *,
        action: str | None = None,
        actor_id: str | None = None,
        target_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AuditEventOut]:
        """Newest first, filtered; the cursor is the last id seen (ids only grow)."""
        size = clamp_limit(limit)
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(size + 1)
        if cursor:
            try:
                position = decode_cursor(cursor)
            except InvalidCursor as exc:
                raise BadRequest(str(exc)) from exc
            if (
                len(position) != 1
                or not isinstance(position[0], int)
                or not 0 < position[0] < 2**63
            ):
                raise BadRequest("malformed cursor")
            query = query.where(AuditEvent.id < position[0])
        for value in (action, actor_id, target_id):
            if value is not None and not is_clean(value, 64):
                raise BadRequest("filters are short printable strings")
        if action:
            query = query.where(AuditEvent.action == action)
        if actor_id:
            query = query.where(AuditEvent.actor_id == actor_id)
        if target_id:
            query = query.where(AuditEvent.target_id == target_id)
        rows = list((await self.session.scalars(query)).all())
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = encode_cursor([rows[-1].id]) if more and rows else None
        return Page(items=[to_event(r) for r in rows], next_cursor=next_cursor)
