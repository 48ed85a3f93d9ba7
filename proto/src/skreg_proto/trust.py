"""Scan verdicts, review decisions and rescans: the trust shapes (issue #15).

A version's `scan` (on every version shape) is seen by whoever may see the version:
its findings come from files that reader can download anyway. Disputes and the
review queue are for the namespace's managers and admins.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

ScanVerdict = Literal["clean", "suspicious", "malicious"]
# none: nothing to review; held / scan-failed: withheld until an admin decides;
# flagged: public, found suspicious by a rescan, awaiting review; approved; rejected.
RescanState = Literal["running", "finished", "failed"]
ReviewState = Literal["none", "held", "scan-failed", "flagged", "approved", "rejected"]


class ScanFinding(msgspec.Struct, kw_only=True):
    """One rule that matched: where, how bad, and what the publisher can do about it."""

    rule: str
    family: str
    severity: Literal["low", "medium", "high", "critical"]
    file: str
    line: int
    excerpt: str
    message: str


class ReviewDecision(msgspec.Struct, kw_only=True):
    """Where the version's review stands, and the last decision (who, why, when)."""

    state: ReviewState = "none"
    decided_by: str | None = None
    reason: str | None = None
    at: dt.datetime | None = None


class VersionScan(msgspec.Struct, kw_only=True):
    """The scan of one version: verdict (None when the scan failed), rules, findings."""

    verdict: ScanVerdict | None
    rules_version: str
    findings: list[ScanFinding] = msgspec.field(default_factory=list)
    findings_total: int = 0  # all findings; `findings` keeps the first 200
    scanned_at: dt.datetime | None = None
    error: str | None = None  # why the scan failed
    review: ReviewDecision = msgspec.field(default_factory=ReviewDecision)


class FileExcerpt(msgspec.Struct, kw_only=True):
    """Lines around a finding, for a reviewer."""

    file: str
    start_line: int
    lines: list[str]


class Dispute(msgspec.Struct, kw_only=True):
    """A publisher's note against a finding (or the whole verdict)."""

    by: str | None
    note: str
    at: dt.datetime
    rule: str | None = None
    file: str | None = None
    line: int | None = None


class ReviewEventShape(msgspec.Struct, kw_only=True):
    """One entry of a version's review audit trail."""

    action: str
    actor: str | None
    note: str
    at: dt.datetime


class ReviewItem(msgspec.Struct, kw_only=True):
    """A version in the review queue: its scan, excerpts around findings, disputes, history."""

    namespace: str
    name: str
    version: str
    digest: str
    publisher: str | None
    published_at: dt.datetime
    withheld: bool
    scan: VersionScan | None
    excerpts: list[FileExcerpt] = msgspec.field(default_factory=list)
    disputes: list[Dispute] = msgspec.field(default_factory=list)
    events: list[ReviewEventShape] = msgspec.field(default_factory=list)


class ReviewRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST …/review/approve|reject`: the reason is recorded and shown to the publisher."""

    reason: str


class DisputeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST …/scan/disputes`: a publisher's note, optionally naming one finding."""

    note: str
    rule: str | None = None
    file: str | None = None
    line: int | None = None


class RescanChange(msgspec.Struct, kw_only=True):
    """One version whose verdict a rescan changed."""

    namespace: str
    name: str
    version: str
    before: ScanVerdict | None
    after: ScanVerdict | None
    review_state: ReviewState


class RescanJobShape(msgspec.Struct, kw_only=True):
    """A rescan job: progress (`done` of `total`) and what changed."""

    id: int
    state: RescanState
    rules_version: str
    started_by: str | None
    total: int
    done: int
    failed: int
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    error: str | None = None
    changes: list[RescanChange] = msgspec.field(default_factory=list)
