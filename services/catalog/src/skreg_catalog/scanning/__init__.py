"""Scanning bundles before a version becomes resolvable (issue #15).

`scan_bundle(files)` returns a `ScanReport`; it runs off the event loop and raises
`ScanFailed` rather than ever returning an unscanned bundle as clean.
"""

from skreg_catalog.scanning.engine import RULES_VERSION, scan_bundle
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
    "ScanReport",
    "Severity",
    "Verdict",
    "scan_bundle",
    "verdict_of",
]
