"""How much one scan may cost: bytes read, archive expansion, wall time.

Budgets that a bundle's *content* exceeds inside an archive (too many members, a
decompression bomb, nesting too deep) become findings, because they say something
about the archive. Budgets that the scan as a whole exceeds (total bytes, time) raise
`ScanFailed`: the bundle was not fully scanned, so it must never read as clean.
"""

from __future__ import annotations

import time

import msgspec

from skreg_catalog.scanning.report import ScanFailed


class ScanLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-bundle budgets (CatalogSettings.scan_limits builds them from the environment)."""

    time_budget_seconds: float = 10.0
    max_total_bytes: int = 48 * 1024**2  # files plus everything unpacked from archives
    max_file_bytes: int = 8 * 1024**2  # one file (or archive member) scanned as a whole
    archive_max_members: int = 2000
    archive_max_depth: int = 3  # archive in an archive in an archive
    archive_max_unpacked_bytes: int = 32 * 1024**2  # per top-level archive
    archive_max_ratio: int = 200  # unpacked / packed for members over 1 MiB unpacked


class Budget:
    """Counts what a scan has spent; `charge` and `check_time` raise `ScanFailed`."""

    def __init__(self, limits: ScanLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.time_budget_seconds
        self.spent_bytes = 0

    def remaining_seconds(self) -> float:
        return self.deadline - time.monotonic()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ScanFailed(
                f"scan took longer than its budget of {self.limits.time_budget_seconds:g} s"
            )

    def charge(self, size: int, what: str) -> None:
        """Account for `size` more bytes scanned; fail once over any byte budget."""
        if size > self.limits.max_file_bytes:
            raise ScanFailed(
                f"{what} is {size:,} bytes, over the scanner's per-file budget of "
                f"{self.limits.max_file_bytes:,}"
            )
        self.spent_bytes += size
        if self.spent_bytes > self.limits.max_total_bytes:
            raise ScanFailed(
                f"bundle needs more than the scanner's budget of "
                f"{self.limits.max_total_bytes:,} bytes"
            )
        self.check_time()
