"""Running the rules over a bundle, off the event loop.

The first rule family (hidden and bidirectional Unicode) is plain Python; the rest of
the families, the YARA-X and detect-secrets engines and the budgets arrive with the
scanner's full rule set.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Mapping

from skreg_catalog.scanning.report import Finding, ScanFailed, ScanReport, verdict_of

RULES_VERSION = "2026.12.0"

# Bidirectional controls reorder what a reader sees ("Trojan Source"); zero-width
# characters hide words from a human reviewer while the agent still reads them.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")


def _hidden_unicode(path: str, text: str) -> list[Finding]:
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        hidden = [c for c in line if c in _BIDI or c in _ZERO_WIDTH]
        if not hidden:
            continue
        bidi = any(c in _BIDI for c in hidden)
        names = ", ".join(sorted({unicodedata.name(c, f"U+{ord(c):04X}") for c in hidden}))
        findings.append(
            Finding(
                rule="unicode.bidi-control" if bidi else "unicode.zero-width",
                family="hidden-unicode",
                severity="high" if bidi else "medium",
                file=path,
                line=number,
                excerpt=line.encode("unicode_escape").decode("ascii")[:120],
                message=f"invisible characters ({names}) change what a reviewer sees; remove them",
            )
        )
    return findings


def _scan(files: Mapping[str, bytes]) -> ScanReport:
    findings: list[Finding] = []
    for path in sorted(files):
        try:
            text = files[path].decode("utf-8")
        except UnicodeDecodeError:
            continue
        findings.extend(_hidden_unicode(path, text))
    found = tuple(findings)
    return ScanReport(verdict=verdict_of(found), rules_version=RULES_VERSION, findings=found)


async def scan_bundle(files: Mapping[str, bytes]) -> ScanReport:
    """Scan a checked bundle's files; raises `ScanFailed` if the scan cannot finish."""
    try:
        return await asyncio.to_thread(_scan, files)
    except Exception as exc:  # any engine failure must not read as "clean"
        raise ScanFailed(str(exc)) from exc
