"""Version rows and review events to the trust shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from skreg_proto.trust import Dispute, ReviewEventShape, VersionScan

from skreg_catalog.review.models import ReviewEvent

DISPUTED = "disputed"


def to_scan(
    scan: dict[str, Any] | None, review_state: str | None, review: dict[str, Any] | None
) -> VersionScan | None:
    """A version's stored scan and review as the API shows them (None: never scanned)."""
    if scan is None:
        return None
    decision = {"state": review_state or "none", **(review or {})}
    return msgspec.convert({**scan, "review": decision}, VersionScan, strict=False)


def to_event(event: ReviewEvent) -> ReviewEventShape:
    """One audit entry."""
    return ReviewEventShape(action=event.action, actor=event.actor, note=event.note, at=event.at)


def to_dispute(event: ReviewEvent) -> Dispute:
    """A `disputed` event as the queue shows it."""
    details = event.details or {}
    return Dispute(
        by=event.actor,
        note=event.note,
        at=event.at,
        rule=details.get("rule"),
        file=details.get("file"),
        line=details.get("line"),
    )


def review_decision(actor: str | None, reason: str, at: dt.datetime) -> dict[str, Any]:
    """The `review` column after a decision (the state is its own column)."""
    return {"decided_by": actor, "reason": reason, "at": at.isoformat()}
