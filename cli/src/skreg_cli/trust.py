"""What the registry's scan says about a version, shown before install and in `skreg info`.

`skreg install` refuses a `malicious` version outright. A version that is held for
review (only its publisher and admins see it), or that a rescan flagged, or that is
`suspicious` and not approved by an admin, installs only after the caller saw its
findings and agreed: asked on a terminal, else `--allow-suspicious`.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from skreg_cli.errors import CliError, ExitCode
from skreg_cli.output import Output

SHOWN_FINDINGS = 10


class FindingView(msgspec.Struct, kw_only=True):
    """One finding of the scan."""

    rule: str = ""
    severity: str = ""
    file: str = ""
    line: int = 0
    excerpt: str = ""
    message: str = ""


class ReviewView(msgspec.Struct, kw_only=True):
    """Where the version's review stands."""

    state: str = "none"
    decided_by: str | None = None
    reason: str | None = None


class ScanView(msgspec.Struct, kw_only=True):
    """A version's scan: verdict (None: the scan failed), findings, review."""

    verdict: str | None = None
    rules_version: str = ""
    findings: list[FindingView] = msgspec.field(default_factory=list)
    findings_total: int = 0
    error: str | None = None
    review: ReviewView = msgspec.field(default_factory=ReviewView)


def verdict_line(scan: ScanView | None, withheld: bool) -> str:
    """One line: the verdict, the review state, and whether only the publisher sees it."""
    if scan is None:
        return "scan: not scanned"
    verdict = scan.verdict or f"scan failed ({scan.error or 'no reason'})"
    review = scan.review
    state = "" if review.state == "none" else f", review: {review.state}"
    if review.reason:
        state += f" ({review.decided_by or '?'}: {review.reason})"
    hidden = ", withheld: only its publisher and admins see it" if withheld else ""
    return f"scan: {verdict} (rules {scan.rules_version}){state}{hidden}"


def show_findings(out: Output, scan: ScanView | None) -> None:
    """The first findings, one per line (file:line, severity, rule, message)."""
    if scan is None:
        return
    for finding in scan.findings[:SHOWN_FINDINGS]:
        where = f"{finding.file}:{finding.line}" if finding.line else finding.file
        out.result(f"  {finding.severity:<8} {finding.rule}  {where}  {finding.message}")
    more = max(scan.findings_total, len(scan.findings)) - SHOWN_FINDINGS
    if more > 0:
        out.result(f"  … and {more} more")


def needs_consent(scan: ScanView | None, withheld: bool) -> bool:
    """Held, flagged, or suspicious without an admin's approval."""
    if withheld:
        return True
    if scan is None:
        return False
    if scan.review.state in ("held", "scan-failed", "flagged"):
        return True
    return scan.verdict == "suspicious" and scan.review.state != "approved"


def check_before_install(
    out: Output,
    key: str,
    version: str,
    scan: ScanView | None,
    withheld: bool,
    *,
    allow_suspicious: bool,
    confirm: Callable[[str], bool] | None,
) -> None:
    """Refuse `malicious`; for a version that needs consent, ask or require the flag."""
    if scan is not None and scan.verdict == "malicious":
        out.warn(f"{key}@{version}: {verdict_line(scan, withheld)}")
        show_findings(out, scan)
        raise CliError(
            f"{key}@{version} was found malicious by the registry's scan; not installed",
            code=ExitCode.FORBIDDEN,
        )
    if not needs_consent(scan, withheld):
        return
    out.warn(f"{key}@{version}: {verdict_line(scan, withheld)}")
    show_findings(out, scan)
    if allow_suspicious:
        return
    if confirm is not None and confirm(f"Install {key}@{version} anyway?"):
        return
    raise CliError(
        f"{key}@{version} is held or suspicious; not installed",
        hint="read the findings above; pass --allow-suspicious to install it anyway",
        code=ExitCode.FORBIDDEN,
    )
