"""The scanner against its corpus: every malicious sample flagged with its families,
benign samples within the issue's false-positive budget (0 malicious, ≤ 3 % suspicious).

Correctness, not timing: bench/bench_scan_corpus.py prints the rates per family.
"""

from __future__ import annotations

import pytest
from skreg_catalog.scanning import scan_files
from skreg_catalog.scanning.ruleset import load_ruleset

from tests.scanning.corpus_support import flagged_families, load_corpus

SAMPLES = load_corpus()
MALICIOUS = [s for s in SAMPLES if s.malicious]
BENIGN = [s for s in SAMPLES if not s.malicious]


def test_the_corpus_is_as_large_as_the_issue_asks() -> None:
    assert len(MALICIOUS) >= 40
    assert len(BENIGN) >= 40


def test_every_rule_family_has_malicious_samples() -> None:
    families = {meta.family for meta in load_ruleset().meta.values()}
    covered = {family for sample in MALICIOUS for family in sample.families}
    assert families <= covered, f"families without samples: {sorted(families - covered)}"


@pytest.mark.parametrize("sample", MALICIOUS, ids=[s.name for s in MALICIOUS])
def test_malicious_sample_is_flagged_with_its_families(sample) -> None:
    report = scan_files(sample.files)
    assert report.verdict != "clean", report
    missing = set(sample.families) - flagged_families(report.findings)
    assert not missing, f"{sample.name}: no finding for {missing}: {report.findings}"


def test_benign_corpus_stays_within_the_false_positive_budget() -> None:
    verdicts = {sample.name: scan_files(sample.files).verdict for sample in BENIGN}
    malicious = [name for name, verdict in verdicts.items() if verdict == "malicious"]
    suspicious = [name for name, verdict in verdicts.items() if verdict == "suspicious"]
    assert malicious == []
    assert len(suspicious) / len(BENIGN) <= 0.03, suspicious


def test_findings_are_explainable() -> None:
    """Every finding names a rule, a file in the bundle, a line, a printable excerpt
    and a message; text findings point at a real line."""
    for sample in MALICIOUS:
        report = scan_files(sample.files)
        for finding in report.findings:
            assert finding.rule
            assert finding.family
            assert finding.message
            top_file = finding.file.split("!/", 1)[0]
            assert top_file in sample.files, finding
            assert finding.excerpt.isprintable(), finding
            assert len(finding.excerpt) <= 400, finding
            assert finding.line >= 0
            if "!/" not in finding.file and finding.line:
                text = sample.files[finding.file].decode("utf-8", "replace")
                assert finding.line <= text.count("\n") + 1, finding
