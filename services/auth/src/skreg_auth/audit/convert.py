"""Audit events as the API shows them."""

from __future__ import annotations

from skreg_proto.auth import AuditEventOut

from skreg_auth.audit.models import AuditEvent


def to_event(row: AuditEvent) -> AuditEventOut:
    """The API shape of an event."""
    return AuditEventOut(
        id=row.id,
        at=row.at,
        action=row.action,
        outcome=row.outcome,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        target_type=row.target_type,
        target_id=row.target_id,
        client_ip=row.client_ip,
        details=row.details,
    )
