"""What a scan means for a new version, under the catalog's `SCAN_POLICY`.

`hold` (the default): `malicious` is refused (a user publish answers 422 with the
findings; an import records a `rejected` result), `suspicious` is published
*withheld*, visible only to its namespace's managers and admins until an admin
approves it. `warn`: everything is published and the findings are shown. `off`:
nothing is scanned.

A scan that cannot finish (`ScanFailed`) never publishes a version as clean: a user
publish answers 503 with `Retry-After` (nothing is written; retrying is safe), and
an import publishes the version withheld in the state `scan-failed`, for an admin
to rescan or decide (an import cannot be retried by its author).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from skreg_common.db import utcnow
from skreg_proto.problems import FieldProblem

from skreg_catalog.scanning import RULES_VERSION, ScanReport

Policy = Literal["hold", "warn", "off"]

# Review states (`Version.review_state`).
NONE = "none"  # nothing to review (clean, or published under `warn`)
HELD = "held"  # withheld until an admin decides
SCAN_FAILED = "scan-failed"  # withheld: the scanner could not finish (imports)
FLAGGED = "flagged"  # already public when a rescan found it suspicious: stays visible
APPROVED = "approved"
REJECTED = "rejected"
# States the review queue lists (awaiting a decision).
PENDING = (HELD, SCAN_FAILED, FLAGGED)
# At most this many findings are stored per version (the verdict counts all of them).
MAX_STORED_FINDINGS = 200


@dataclass(frozen=True)
class Outcome:
    """What to do with a new version: refuse it, or store it with this scan and state."""

    refuse: bool
    withheld: bool
    review_state: str | None
    scan: dict[str, Any] | None


def stored_scan(report: ScanReport) -> dict[str, Any]:
    """The report as the version row keeps it."""
    findings = [msgspec.to_builtins(f) for f in report.findings[:MAX_STORED_FINDINGS]]
    return {
        "verdict": report.verdict,
        "rules_version": report.rules_version,
        "findings": findings,
        "findings_total": len(report.findings),
        "scanned_at": utcnow().isoformat(),
    }


def failed_scan(reason: str) -> dict[str, Any]:
    """What a version whose scan failed keeps: no verdict, the reason, the rules that tried."""
    return {
        "verdict": None,
        "rules_version": RULES_VERSION,
        "findings": [],
        "findings_total": 0,
        "error": reason[:500],
        "scanned_at": utcnow().isoformat(),
    }


def decide(policy: Policy, report: ScanReport | None) -> Outcome:
    """The rule, one pure function: `report` None means the policy skipped the scan."""
    if report is None:
        return Outcome(refuse=False, withheld=False, review_state=None, scan=None)
    scan = stored_scan(report)
    if policy == "hold" and report.verdict == "malicious":
        return Outcome(refuse=True, withheld=True, review_state=REJECTED, scan=scan)
    if policy == "hold" and report.verdict == "suspicious":
        return Outcome(refuse=False, withheld=True, review_state=HELD, scan=scan)
    return Outcome(refuse=False, withheld=False, review_state=NONE, scan=scan)


def scan_failed_outcome(reason: str) -> Outcome:
    """An import whose scan failed: stored withheld, never as clean."""
    return Outcome(refuse=False, withheld=True, review_state=SCAN_FAILED, scan=failed_scan(reason))


def finding_problems(report: ScanReport) -> list[FieldProblem]:
    """Findings as problem+json field errors (a refused publish, a rejected import)."""
    return [
        FieldProblem(
            f"{finding.file}:{finding.line}" if finding.line else finding.file,
            f"[{finding.severity}] {finding.rule}: {finding.message} ({finding.excerpt})",
        )
        for finding in report.findings[:MAX_STORED_FINDINGS]
    ]
