"""The review queue (admins), a version's review (its managers too), disputes, rescans."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from skreg_common.errors import NotFound
from skreg_common.principal import Principal, requires_admin, requires_user
from skreg_proto.pagination import Page
from skreg_proto.trust import (
    DisputeRequest,
    RescanChange,
    RescanJobShape,
    RescanState,
    ReviewItem,
    ReviewRequest,
)
from sqlalchemy import select

from skreg_catalog.context import CatalogContext
from skreg_catalog.review.models import RescanJob
from skreg_catalog.review.policy import PENDING
from skreg_catalog.review.rescan import start_rescan
from skreg_catalog.review.service import ReviewService
from skreg_catalog.skills.routes import requires_owner_credential
from skreg_catalog.writer import CatalogWriter

REVIEW = "/api/v1/review"
ITEM = REVIEW + "/{namespace:str}/{name:str}/{version:str}"
RESCANS = REVIEW + "/rescans"
STATES = "held, scan-failed, flagged, approved or rejected"


@get(REVIEW, guards=[requires_admin()], summary="The review queue", tags=["review"])
async def review_queue(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    review_state: str | None = Parameter(
        default=None,
        query="state",
        pattern="^(held|scan-failed|flagged|approved|rejected)$",
        description=f"only versions in this review state ({STATES}); default: awaiting "
        f"a decision ({', '.join(PENDING)})",
    ),
    cursor: str | None = Parameter(default=None, max_length=2048),
    limit: int | None = Parameter(default=None, ge=1, le=100),
) -> Page[ReviewItem]:
    """Versions awaiting review, oldest first, with findings, excerpts and disputes."""
    async with catalog.reading(request.app.state.runtime) as session:
        return await ReviewService(session, catalog).queue(review_state, cursor, limit)


@get(ITEM, guards=[requires_user()], summary="A version's review", tags=["review"])
async def review_item(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    catalog: NamedDependency[CatalogContext],
    principal: NamedDependency[Principal],
) -> ReviewItem:
    """The version's scan, excerpts, disputes and audit trail (admins and its managers)."""
    async with catalog.reading(request.app.state.runtime) as session:
        return await ReviewService(session, catalog).item(namespace, name, version, principal)


async def _decide(
    namespace: str,
    name: str,
    version: str,
    data: ReviewRequest,
    catalog: CatalogContext,
    writer: CatalogWriter,
    principal: Principal,
    *,
    approve: bool,
) -> ReviewItem:
    async with writer.transaction() as session:
        return await ReviewService(session, catalog).decide(
            namespace, name, version, principal, approve=approve, reason=data.reason
        )


@post(
    ITEM + "/approve",
    guards=[requires_admin()],
    status_code=200,
    summary="Approve a version",
    tags=["review"],
)
async def approve_version(
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    data: JSONBody[ReviewRequest],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> ReviewItem:
    """Publish a held (or rejected, or flagged) version: resolvable and visible everywhere."""
    return await _decide(namespace, name, version, data, catalog, writer, principal, approve=True)


@post(
    ITEM + "/reject",
    guards=[requires_admin()],
    status_code=200,
    summary="Reject a version",
    tags=["review"],
)
async def reject_version(
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    data: JSONBody[ReviewRequest],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> ReviewItem:
    """Withhold a version for good: only its managers and admins see it, with the reason."""
    return await _decide(namespace, name, version, data, catalog, writer, principal, approve=False)


@post(
    ITEM + "/disputes",
    guards=[requires_owner_credential("publish")],
    status_code=201,
    summary="Dispute a finding",
    tags=["review"],
)
async def dispute_finding(
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    data: JSONBody[DisputeRequest],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> ReviewItem:
    """A publisher's note against a finding (name it by rule, file, line) or the verdict."""
    async with writer.transaction() as session:
        return await ReviewService(session, catalog).dispute(
            namespace, name, version, principal, data
        )


def to_job(job: RescanJob) -> RescanJobShape:
    """A rescan job as the API shows it."""
    return RescanJobShape(
        id=job.id,
        state=msgspec.convert(job.state, RescanState),
        rules_version=job.rules_version,
        started_by=job.started_by,
        total=job.total,
        done=job.done,
        failed=job.failed,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        changes=msgspec.convert(job.changes, list[RescanChange]),
    )


@post(
    RESCANS,
    guards=[requires_admin()],
    status_code=202,
    summary="Rescan every version",
    tags=["review"],
)
async def create_rescan(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    principal: NamedDependency[Principal],
) -> RescanJobShape:
    """Start rescanning every stored version with the current rules (409 while one runs)."""
    job = await start_rescan(catalog, request.app.state.runtime, principal.username)
    return to_job(job)


@get(RESCANS, guards=[requires_admin()], summary="Rescan jobs, newest first", tags=["review"])
async def list_rescans(
    request: Request[Any, Any, Any], catalog: NamedDependency[CatalogContext]
) -> list[RescanJobShape]:
    """The last 20 rescan jobs with their progress and changes."""
    async with catalog.reading(request.app.state.runtime) as session:
        jobs = (
            await session.execute(select(RescanJob).order_by(RescanJob.id.desc()).limit(20))
        ).scalars()
        return [to_job(job) for job in jobs]


@get(RESCANS + "/{job_id:int}", guards=[requires_admin()], summary="A rescan job", tags=["review"])
async def get_rescan(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    # Bounded by the column (INTEGER): a larger id overflows the driver instead of missing.
    job_id: int = Parameter(ge=1, le=2**31 - 1),
) -> RescanJobShape:
    """Progress (`done` of `total`) and the verdict changes so far."""
    async with catalog.reading(request.app.state.runtime) as session:
        job = await session.get(RescanJob, job_id)
        if job is None:
            raise NotFound(f"no rescan {job_id}")
        return to_job(job)


HANDLERS = [
    review_queue,
    review_item,
    approve_version,
    reject_version,
    dispute_finding,
    create_rescan,
    list_rescans,
    get_rescan,
]
