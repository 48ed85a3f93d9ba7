"""Loading the scanner's test corpus (tests/scanning/corpus): shared by the tests and
bench/bench_scan_corpus.py.

`corpus/malicious/<name>/` holds inert malicious skills, `corpus/manifest.toml` the rule
families each must trip; every folder in `corpus/benign/` must stay clean.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Sample:
    name: str
    malicious: bool
    files: dict[str, bytes]
    families: tuple[str, ...] = field(default=())


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def load_corpus() -> list[Sample]:
    """Every sample, malicious first, in name order."""
    manifest = tomllib.loads((CORPUS / "manifest.toml").read_text("utf-8"))["malicious"]
    samples = []
    for folder in sorted((CORPUS / "malicious").iterdir()):
        entry = manifest[folder.name]  # a sample without an entry is a mistake: KeyError
        samples.append(Sample(folder.name, True, _files(folder), tuple(entry["families"])))
    samples.extend(
        Sample(folder.name, False, _files(folder))
        for folder in sorted((CORPUS / "benign").iterdir())
    )
    unlisted = set(manifest) - {s.name for s in samples if s.malicious}
    if unlisted:
        raise ValueError(f"manifest lists samples with no folder: {sorted(unlisted)}")
    return samples


def as_skill(sample: str) -> dict[str, object]:
    """Malicious `sample` as `skill_bundle` keywords (`body`: its SKILL.md without the
    front matter, `files`: the rest), to publish it under any name in other tests."""
    files = _files(CORPUS / "malicious" / sample)
    body = files.pop("SKILL.md").decode("utf-8").split("---\n", 2)[2]  # drop its front matter
    return {"body": body, "files": files}


def flagged_families(report_findings: tuple[object, ...]) -> set[str]:
    """Families of the findings that count towards a verdict (medium or worse)."""
    return {f.family for f in report_findings if f.severity != "low"}  # type: ignore[attr-defined]
