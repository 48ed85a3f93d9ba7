"""The review queue: withheld and flagged versions, decisions (audited) and disputes.

Decisions are guarded single UPDATEs (CONTRIBUTING.md: guarded updates) that name the
states they leave, so two admins deciding at once cannot both win, and each ends by
re-deriving the skill's latest (`refresh_skill`): approving makes the version a
candidate for `latest` and visible everywhere; rejecting withdraws it.
"""

from __future__ import annotations

from typing import Any

import structlog
from skreg_common.db import rows_affected, utcnow
from skreg_common.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from skreg_common.principal import Principal
from skreg_proto.pagination import (
    InvalidCursor,
    Page,
    clamp_limit,
    cursor_int,
    decode_cursor,
    encode_cursor,
)
from skreg_proto.problems import FieldProblem
from skreg_proto.trust import DisputeRequest, FileExcerpt, ReviewItem
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.context import CatalogContext
from skreg_catalog.review.convert import DISPUTED, review_decision, to_dispute, to_event, to_scan
from skreg_catalog.review.models import ReviewEvent
from skreg_catalog.review.policy import (
    APPROVED,
    FLAGGED,
    HELD,
    NONE,
    PENDING,
    REJECTED,
    SCAN_FAILED,
    Outcome,
)
from skreg_catalog.review.visibility import may_see_version
from skreg_catalog.skills.models import Namespace, Skill, Version
from skreg_catalog.skills.service import SkillService
from skreg_catalog.skills.state import refresh_skill

log = structlog.get_logger(__name__)

MAX_REASON = 500
MAX_NOTE = 2000
EXCERPT_CONTEXT = 2  # lines either side of a finding
MAX_EXCERPTS = 20
MAX_EXCERPT_LINE = 200
# Which states each decision may leave: approving a rejected version reverses a
# mistake; rejecting an approved or never-reviewed one withdraws it.
APPROVABLE = (HELD, SCAN_FAILED, FLAGGED, REJECTED)
REJECTABLE = (HELD, SCAN_FAILED, FLAGGED, APPROVED, NONE)


def trust_values(outcome: Outcome | None) -> dict[str, Any]:
    """The version columns a publish stores for the scan policy's `outcome`."""
    if outcome is None:
        return {"withheld": False, "scan": None, "review_state": None, "review": None}
    return {
        "withheld": outcome.withheld,
        "scan": outcome.scan,
        "review_state": outcome.review_state,
        "review": None,
    }


async def record_withheld(session: AsyncSession, version: Version, actor: str | None) -> None:
    """Audit a version published withheld (held, or its scan failed)."""
    verdict = (version.scan or {}).get("verdict")
    session.add(
        ReviewEvent(
            version_id=version.id,
            action=version.review_state or HELD,
            actor=actor,
            note=f"withheld at publish (verdict {verdict})",
            at=utcnow(),
        )
    )
    log.info("skill.withheld", version_id=version.id, state=version.review_state)


def checked_text(value: str, field: str, limit: int) -> str:
    """A reason or note: 1 to `limit` printable characters (line breaks allowed)."""
    value = value.strip()
    if not value or len(value) > limit:
        raise Invalid(
            f"the {field} must be 1 to {limit} characters",
            errors=[FieldProblem(field, f"must be 1 to {limit} characters")],
        )
    # PostgreSQL text cannot hold NUL; other controls would reach every terminal.
    if any(not ch.isprintable() and ch not in "\n\t" for ch in value):
        raise Invalid(
            f"the {field} contains control characters",
            errors=[FieldProblem(field, "must not contain control characters")],
        )
    return value


def shown_line(line: str) -> str:
    """A source line a reviewer can trust: invisible characters spelled out, bounded."""
    shown = "".join(c if c.isprintable() or c == "\t" else f"\\u{ord(c):04x}" for c in line)
    return shown[:MAX_EXCERPT_LINE]


class ReviewService:
    """Reads and decisions of the review queue."""

    def __init__(self, session: AsyncSession, catalog: CatalogContext) -> None:
        self.session = session
        self.catalog = catalog

    async def queue(
        self, state: str | None, cursor: str | None, limit: int | None
    ) -> Page[ReviewItem]:
        """Versions awaiting a decision (or in `state`), oldest first."""
        states = PENDING if state is None else (state,)
        query = (
            select(Skill, Version)
            .join(Version, Version.skill_id == Skill.id)
            .where(
                Version.review_state.in_(states),
                Version.deleted_at.is_(None),
                Skill.deleted_at.is_(None),
            )
            .order_by(Version.id)
        )
        if cursor is not None:
            try:
                position = decode_cursor(cursor)
                if len(position) != 1:
                    raise InvalidCursor("malformed cursor")
                after = cursor_int(position[0])
            except InvalidCursor as exc:
                raise BadRequest("invalid cursor") from exc
            query = query.where(Version.id > after)
        size = clamp_limit(limit)
        rows = (await self.session.execute(query.limit(size + 1))).all()
        page = rows[:size]
        items = [await self.item_of(skill, version) for skill, version in page]
        next_cursor = encode_cursor([page[-1][1].id]) if len(rows) > size else None
        return Page(items=items, next_cursor=next_cursor)

    async def item(
        self, namespace: str, name: str, version: str, principal: Principal
    ) -> ReviewItem:
        """One version's review (admins, and the namespace's managers for their own)."""
        skill, found = await self._version(namespace, name, version, principal)
        return await self.item_of(skill, found)

    async def item_of(self, skill: Skill, version: Version) -> ReviewItem:
        """A version with its scan, excerpts around findings, disputes and audit trail."""
        events = list(
            (
                await self.session.execute(
                    select(ReviewEvent)
                    .where(ReviewEvent.version_id == version.id)
                    .order_by(ReviewEvent.id)
                )
            ).scalars()
        )
        scan = to_scan(version.scan, version.review_state, version.review)
        return ReviewItem(
            namespace=skill.namespace,
            name=skill.name,
            version=version.version,
            digest=version.digest,
            publisher=version.publisher_name,
            published_at=version.published_at,
            withheld=version.withheld,
            scan=scan,
            excerpts=await self._excerpts(version),
            disputes=[to_dispute(e) for e in events if e.action == DISPUTED],
            events=[to_event(e) for e in events],
        )

    async def _excerpts(self, version: Version) -> list[FileExcerpt]:
        findings = (version.scan or {}).get("findings") or []
        if not findings or version.purged_at is not None:
            return []
        bundle = await SkillService(self.session, self.catalog).bundle(version.digest)
        excerpts: list[FileExcerpt] = []
        for finding in findings[:MAX_EXCERPTS]:
            data = bundle.files.get(finding.get("file", ""))
            line = int(finding.get("line") or 0)
            if data is None or line <= 0:
                continue
            lines = data.decode("utf-8", errors="replace").splitlines()
            start = max(1, line - EXCERPT_CONTEXT)
            chosen = lines[start - 1 : line + EXCERPT_CONTEXT]
            excerpts.append(
                FileExcerpt(
                    file=finding["file"], start_line=start, lines=[shown_line(x) for x in chosen]
                )
            )
        return excerpts

    async def decide(
        self,
        namespace: str,
        name: str,
        version: str,
        principal: Principal,
        *,
        approve: bool,
        reason: str,
    ) -> ReviewItem:
        """Approve (publish it, visible everywhere) or reject (withheld) a version; audited."""
        reason = checked_text(reason, "reason", MAX_REASON)
        skill = await SkillService(self.session, self.catalog).find_skill(
            namespace, name, lock=True
        )
        found = await self._row(skill, version)
        state = APPROVED if approve else REJECTED
        leaves = APPROVABLE if approve else REJECTABLE
        now = utcnow()
        condition: ColumnElement[bool] = Version.review_state.in_(leaves)
        if not approve:
            condition = or_(condition, Version.review_state.is_(None))
        result = await self.session.execute(
            update(Version)
            .where(Version.id == found.id, condition)
            .values(
                withheld=not approve,
                review_state=state,
                review=review_decision(principal.username, reason, now),
            )
            .execution_options(synchronize_session=False)
        )
        if rows_affected(result) == 0:
            raise Conflict(
                f"{namespace}/{name}@{version} is {found.review_state or 'not reviewed'}: "
                f"it cannot be {state} now"
            )
        self.session.add(
            ReviewEvent(
                version_id=found.id, action=state, actor=principal.username, note=reason, at=now
            )
        )
        await self.session.refresh(found)
        await refresh_skill(self.session, skill)
        log.info(
            f"review.{state}",
            skill=f"{namespace}/{name}",
            version=version,
            actor=principal.username,
        )
        return await self.item_of(skill, found)

    async def dispute(
        self,
        namespace: str,
        name: str,
        version: str,
        principal: Principal,
        request: DisputeRequest,
    ) -> ReviewItem:
        """A publisher's note against a finding (or the verdict); shown to admins in the queue."""
        note = checked_text(request.note, "note", MAX_NOTE)
        skill, found = await self._version(namespace, name, version, principal)
        if found.scan is None:
            raise Conflict(f"{namespace}/{name}@{version} was not scanned: nothing to dispute")
        details = None
        if request.rule is not None or request.file is not None:
            findings = found.scan.get("findings") or []
            matching = [
                f
                for f in findings
                if (request.rule is None or f.get("rule") == request.rule)
                and (request.file is None or f.get("file") == request.file)
                and (request.line is None or f.get("line") == request.line)
            ]
            if not matching:
                raise Invalid(
                    "no finding of this version matches the disputed rule, file and line",
                    errors=[FieldProblem("rule", "must name one of the version's findings")],
                )
            first = matching[0]
            details = {"rule": first["rule"], "file": first["file"], "line": first["line"]}
        self.session.add(
            ReviewEvent(
                version_id=found.id,
                action=DISPUTED,
                actor=principal.username,
                note=note,
                details=details,
                at=utcnow(),
            )
        )
        await self.session.flush()
        log.info("review.disputed", skill=f"{namespace}/{name}", version=version)
        return await self.item_of(skill, found)

    async def _version(
        self, namespace: str, name: str, version: str, principal: Principal
    ) -> tuple[Skill, Version]:
        """The version if `principal` manages its namespace (or is an admin); else 404/403."""
        skill = await SkillService(self.session, self.catalog).find_skill(namespace, name)
        found = await self._row(skill, version)
        owner = await self.session.get(Namespace, skill.namespace_id)
        if not may_see_version(found.withheld, owner, principal):
            raise NotFound(f"no version {version} of {namespace}/{name}")
        if not may_see_version(True, owner, principal):
            raise Forbidden(f"only the owners of {namespace} or an admin may do this")
        return skill, found

    async def _row(self, skill: Skill, version: str) -> Version:
        found = (
            await self.session.execute(
                select(Version).where(
                    Version.skill_id == skill.id,
                    Version.version == version,
                    Version.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no version {version} of {skill.namespace}/{skill.name}")
        return found
