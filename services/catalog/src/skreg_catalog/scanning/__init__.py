"""Scanning bundles before a version becomes resolvable (issue #15).

`scan_bundle(files)` returns a `ScanReport`; it runs off the event loop and raises
`ScanFailed` rather than ever returning an unscanned bundle as clean. The rules are
data in `rules/` (docs/scanning.md says how to add one); `ScanLimits` bounds a scan.
"""

from skreg_catalog.scanning.engine import RULES_VERSION, scan_bundle, scan_files, warm_up
from skreg_catalog.scanning.limits import ScanLimits
from skreg_catalog.scanning.report import (
    Finding,
    ScanFailed,
    ScanReport,
    Severity,
    Verdict,
    verdict_of,
)

__all__ = [
    "RULES_VERSION",
    "Finding",
    "ScanFailed",
    "ScanLimits",
    "ScanReport",
    "Severity",
    "Verdict",
    "scan_bundle",
    "scan_files",
    "verdict_of",
    "warm_up",
]
