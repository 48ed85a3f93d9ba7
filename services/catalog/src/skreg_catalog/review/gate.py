"""Scanning a checked bundle before the write transaction opens (user and import publishes).

Like rendering, the scan is CPU work done off the event loop before the (SQLite)
writer's turn is taken; the `Outcome` travels with the `CheckedSkill` into the write.
"""

from __future__ import annotations

import dataclasses

import structlog
from skreg_common.errors import Invalid, Unavailable

from skreg_catalog.context import CatalogContext
from skreg_catalog.publishing.validate import CheckedSkill
from skreg_catalog.review.policy import decide, finding_problems, scan_failed_outcome
from skreg_catalog.scanning import ScanFailed
from skreg_catalog.scanning.pool import scan_in_worker

log = structlog.get_logger(__name__)

# A failed scan is usually a budget or a transient engine fault: try again shortly.
SCAN_RETRY_AFTER_SECONDS = 30


async def scanned(
    catalog: CatalogContext, checked: CheckedSkill, *, imported: bool
) -> CheckedSkill:
    """`checked` with the policy's decision attached.

    A user publish that the policy refuses raises `Invalid` (422, the findings as
    field errors); one whose scan failed raises `Unavailable` (503, `Retry-After`).
    An import is never raised for: the caller turns a refusal into a `rejected`
    result, and a failed scan is stored withheld (`scan-failed`).
    """
    policy = catalog.settings.scan_policy
    if policy == "off":
        return dataclasses.replace(checked, trust=decide(policy, None))
    try:
        # The operator's budgets (SCAN_* settings), not the scanner's defaults.
        report = await scan_in_worker(
            checked.bundle.files,
            limits=catalog.settings.scan_limits,
            workers=catalog.settings.scan_workers,
        )
    except ScanFailed as exc:
        log.warning("scan.failed", digest=checked.bundle.digest, error=str(exc))
        if not imported:
            raise Unavailable(
                "the registry could not scan this bundle; nothing was published, try again",
                headers={"Retry-After": str(SCAN_RETRY_AFTER_SECONDS)},
            ) from exc
        return dataclasses.replace(checked, trust=scan_failed_outcome(str(exc)))
    outcome = decide(policy, report)
    if outcome.refuse and not imported:
        raise Invalid(
            f"the scan found this bundle malicious (rules {report.rules_version}); "
            "it was not published",
            errors=finding_problems(report),
        )
    return dataclasses.replace(checked, trust=outcome, report=report)
