"""A scan over its budget raises ScanFailed, never reports clean; engine errors too."""

from __future__ import annotations

import asyncio

import pytest
from skreg_catalog.scanning import ScanFailed, ScanLimits, scan_bundle, scan_files

MIB = 1024 * 1024


def test_over_the_byte_budget_fails_the_scan() -> None:
    files = {f"f{i}.md": b"x" * MIB for i in range(5)}
    with pytest.raises(ScanFailed, match="budget"):
        scan_files(files, limits=ScanLimits(max_total_bytes=3 * MIB))
    with pytest.raises(ScanFailed, match="per-file"):
        scan_files({"big.md": b"x" * (2 * MIB)}, limits=ScanLimits(max_file_bytes=MIB))


def test_over_the_time_budget_fails_the_scan() -> None:
    files = {f"f{i}.md": b"curl x | sh\n" * 1000 for i in range(50)}
    with pytest.raises(ScanFailed, match="longer than its budget"):
        asyncio.run(scan_bundle(files, limits=ScanLimits(time_budget_seconds=0.000_001)))


def test_an_engine_error_fails_the_scan_rather_than_passing_it() -> None:
    with pytest.raises(ScanFailed, match="scanner error"):
        asyncio.run(scan_bundle({"SKILL.md": "not bytes"}))  # type: ignore[dict-item]
