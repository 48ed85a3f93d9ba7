"""Detection and false-positive rates of the scanner over its corpus, per rule family.

For each family: how many malicious samples of tests/scanning/corpus carry it (per
corpus/manifest.toml), how many of those the scanner flags (`suspicious` or worse, and
with a finding of that family), and how many benign samples get a medium-or-worse
finding of that family. Then the totals against issue #15's targets: ≥ 90 % of malicious
samples suspicious or worse, 0 benign malicious, ≤ 3 % benign suspicious.

The test suite asserts the same targets (tests/scanning/test_corpus.py); this prints the
figures. Run `make bench` or `uv run --frozen python bench/bench_scan_corpus.py`.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test corpus loader

from skreg_catalog.scanning import scan_files  # noqa: E402
from skreg_catalog.scanning.ruleset import load_ruleset  # noqa: E402

from tests.scanning.corpus_support import flagged_families, load_corpus  # noqa: E402


def main() -> None:
    samples = load_corpus()
    families = sorted({meta.family for meta in load_ruleset().meta.values()})
    carried: Counter[str] = Counter()
    detected: Counter[str] = Counter()
    benign_hits: Counter[str] = Counter()
    verdicts: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
    for sample in samples:
        report = scan_files(sample.files)
        verdicts[sample.malicious][report.verdict] += 1
        flagged = flagged_families(report.findings)
        if sample.malicious:
            for family in sample.families:
                carried[family] += 1
                if report.verdict != "clean" and family in flagged:
                    detected[family] += 1
        else:
            benign_hits.update(flagged)
    malicious_total = sum(verdicts[True].values())
    benign_total = sum(verdicts[False].values())

    print(
        f"{'family':<22} {'malicious':>9} {'detected':>9} {'rate':>6} {'benign FP':>9} {'rate':>6}"
    )
    for family in families:
        rate = detected[family] / carried[family] if carried[family] else float("nan")
        fp = benign_hits[family]
        print(
            f"{family:<22} {carried[family]:>9} {detected[family]:>9} {rate:>6.0%} "
            f"{fp:>9} {fp / benign_total:>6.0%}"
        )
    flagged_malicious = malicious_total - verdicts[True]["clean"]
    detection = flagged_malicious / malicious_total
    benign_malicious = verdicts[False]["malicious"]
    benign_suspicious = verdicts[False]["suspicious"] / benign_total
    print()
    print(f"malicious samples: {malicious_total}, verdicts {dict(verdicts[True])}")
    print(f"benign samples:    {benign_total}, verdicts {dict(verdicts[False])}")
    targets = (
        ("malicious suspicious-or-worse", f"{detection:.1%}", "≥ 90 %", detection >= 0.9),
        ("benign malicious", str(benign_malicious), "0", benign_malicious == 0),
        ("benign suspicious", f"{benign_suspicious:.1%}", "≤ 3 %", benign_suspicious <= 0.03),
    )
    for name, figure, target, met in targets:
        print(f"{name:<30} {figure:>7}  target {target:<7} {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
