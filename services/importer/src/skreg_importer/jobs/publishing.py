"""Publishing discovered skills through the catalog, concurrently but bounded.

Invalid skills become `invalid` results without a call, repeated names `duplicate`
ones (see `discovery.mark_duplicates`). A semver tag on the commit gives the version
(`tagversions`); otherwise the catalog takes `metadata.version` or generates one, as the
source's `version_policy` says. A 409 is a `conflict` result,
a 4xx about the bundle is `invalid`; only trouble that is not about one skill (the
catalog unreachable, 5xx, 429, or refusing the importer itself) fails the attempt.
"""

from __future__ import annotations

import asyncio

from skreg_common.db import utcnow
from skreg_common.peers import PeerError
from skreg_proto.internal import Provenance, ServicePublishRequest
from skreg_proto.problems import FieldProblem

from skreg_importer.discovery import DiscoveredSkill
from skreg_importer.failures import JobFailed
from skreg_importer.gitops.urls import RepoUrl
from skreg_importer.jobs.store import ClaimedRun, ResultRow
from skreg_importer.publisher import CatalogPublisher
from skreg_importer.tagversions import version_for

_PER_SKILL_STATUSES = {400, 409, 413, 415, 422}


class PublishFailed(JobFailed):
    """Publishing could not be done for reasons beyond one skill."""


def _rows(problems: list[FieldProblem]) -> tuple[dict[str, str], ...]:
    return tuple({"path": p.path, "message": p.message} for p in dict.fromkeys(problems))


def _not_published(skill: DiscoveredSkill) -> ResultRow:
    if skill.duplicate is not None:
        outcome, problems = "duplicate", [skill.duplicate]
    else:
        outcome, problems = "invalid", skill.problems
    return ResultRow(
        path=skill.path,
        name=skill.name,
        outcome=outcome,
        digest=skill.digest if skill.duplicate is not None else None,
        problems=_rows(problems),
        warnings=_rows(skill.warnings),
    )


async def _publish_one(
    publisher: CatalogPublisher,
    claimed: ClaimedRun,
    repo: RepoUrl,
    commit: str,
    skill: DiscoveredSkill,
    imported_at: str,
    tags: list[str],
) -> ResultRow:
    assert skill.bundle is not None
    tagged = version_for(skill.name, tags)
    request = ServicePublishRequest(
        namespace=claimed.namespace,
        bundle=skill.bundle,
        provenance=Provenance(
            source_id=claimed.source_id,
            repository_url=repo.display,
            ref=claimed.ref,
            commit=commit,
            path=skill.path,
            imported_at=imported_at,
            tag=tagged.tag if tagged else None,
        ),
        # None: the catalog takes metadata.version, or generates one that sorts last.
        version=tagged.version if tagged else None,
        warnings=list(skill.warnings),
        owner=claimed.owner,
        version_policy=claimed.version_policy,
        visibility=claimed.visibility,  # type: ignore[arg-type]
    )
    try:
        result = await publisher.publish(request)
    except PeerError as exc:
        if exc.status in _PER_SKILL_STATUSES:
            outcome = "conflict" if exc.status == 409 else "invalid"
            return ResultRow(
                path=skill.path,
                name=skill.name,
                outcome=outcome,
                digest=skill.digest,
                problems=({"path": "", "message": exc.detail},),
                warnings=_rows(skill.warnings),
            )
        if exc.transient:
            raise PublishFailed(f"catalog unavailable: {exc}", transient=True) from exc
        raise PublishFailed(f"catalog refused the import: {exc}", transient=False) from exc
    return ResultRow(
        path=skill.path,
        name=result.name or skill.name,
        outcome=result.outcome,
        version=result.version,
        digest=result.digest or skill.digest,
        problems=_rows(result.problems),
        warnings=_rows([*skill.warnings, *result.warnings]),
    )


async def publish_all(
    publisher: CatalogPublisher,
    claimed: ClaimedRun,
    repo: RepoUrl,
    commit: str,
    skills: list[DiscoveredSkill],
    *,
    tags: list[str],
    concurrency: int,
) -> list[ResultRow]:
    """One result per skill, in discovery order."""
    imported_at = utcnow().isoformat()
    results: list[ResultRow | None] = [None] * len(skills)
    pending: list[int] = []
    for index, skill in enumerate(skills):
        if skill.valid:
            pending.append(index)
        else:
            results[index] = _not_published(skill)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int) -> None:
        async with gate:
            results[index] = await _publish_one(
                publisher, claimed, repo, commit, skills[index], imported_at, tags
            )

    if pending:
        # The first alone: it may create the namespace, which the rest then share.
        await one(pending[0])
        outcomes = await asyncio.gather(*(one(i) for i in pending[1:]), return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            # A permanent refusal says more than a blip: report it first.
            failures.sort(
                key=lambda exc: not (isinstance(exc, PublishFailed) and not exc.transient)
            )
            raise failures[0]
    return [row for row in results if row is not None]
