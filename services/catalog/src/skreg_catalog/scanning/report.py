"""What a scan of one bundle says: findings, and a verdict that summarises them.

This is the contract between the scanner (`skreg_catalog.scanning.scan_bundle`) and
everything that stores, shows or acts on a verdict (publishing, imports, review).
"""

from __future__ import annotations

from typing import Literal

import msgspec

Verdict = Literal["clean", "suspicious", "malicious"]
Severity = Literal["low", "medium", "high", "critical"]

# The worst severity among the findings decides the verdict.
VERDICT_OF_SEVERITY: dict[Severity, Verdict] = {
    "low": "clean",
    "medium": "suspicious",
    "high": "suspicious",
    "critical": "malicious",
}
_RANK: dict[Verdict, int] = {"clean": 0, "suspicious": 1, "malicious": 2}


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One rule that matched: where, how bad, and what the publisher can do about it."""

    rule: str  # stable id, e.g. "unicode.bidi-control"
    family: str  # the rule family, e.g. "hidden-unicode"
    severity: Severity
    file: str  # path inside the bundle
    line: int  # 1-based; 0 when the finding is about the whole file
    excerpt: str  # a short, printable excerpt of the matched text
    message: str  # what is wrong and how to fix it


class ScanReport(msgspec.Struct, frozen=True, kw_only=True):
    """The findings for one bundle, the verdict they add up to, and the rules that ran."""

    verdict: Verdict
    rules_version: str
    findings: tuple[Finding, ...] = ()


class ScanFailed(Exception):
    """The scanner could not finish (budget exceeded, engine error).

    Never treated as clean: a version whose scan failed is not published as clean.
    """


def verdict_of(findings: tuple[Finding, ...]) -> Verdict:
    """The worst verdict any finding's severity maps to (`clean` when there are none)."""
    worst: Verdict = "clean"
    for finding in findings:
        verdict = VERDICT_OF_SEVERITY[finding.severity]
        if _RANK[verdict] > _RANK[worst]:
            worst = verdict
    return worst
