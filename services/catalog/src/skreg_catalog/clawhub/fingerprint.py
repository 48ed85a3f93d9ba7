"""The content fingerprint the `clawhub` CLI computes, so `resolve` can match installed files.

The CLI (clawhub 0.23, `buildSkillFingerprint` in its dist/skills.js) hashes
`"<path>:<sha256 hex>"` lines joined by `\\n`, the paths sorted with JavaScript's
`String.prototype.localeCompare`: ICU's root collation (the Unicode Collation
Algorithm, punctuation not ignorable), not byte order, so `scripts/run.sh` sorts
before `SKILL.md`. pyuca implements that algorithm over the Unicode DUCET; the test
suite checks it against the real CLI's own function (tests/clients). The CLI skips
every path with a segment starting with `.` when it lists a skill folder, so those
files never take part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from typing import Any

from cachetools import LRUCache
from pyuca import Collator  # type: ignore[import-untyped]


@cache
def _collator() -> Collator:
    return Collator()  # parses the collation table once (~0.1 s, ~10 MB)


def counted(path: str) -> bool:
    """False for paths the CLI leaves out of a skill folder (a segment starting with `.`)."""
    return not any(segment.startswith(".") for segment in path.split("/"))


def fingerprint(files: Iterable[tuple[str, str]]) -> str:
    """sha256 hex of the CLI's fingerprint payload over `(path, sha256 hex)` pairs."""
    kept = [(path, sha) for path, sha in files if path and sha and counted(path)]
    key = _collator().sort_key
    kept.sort(key=lambda item: key(item[0]))
    payload = "\n".join(f"{path}:{sha}" for path, sha in kept)
    return hashlib.sha256(payload.encode()).hexdigest()


CACHED_FINGERPRINTS = 4096
_BY_DIGEST: LRUCache[str, str] = LRUCache(maxsize=CACHED_FINGERPRINTS)


def version_fingerprint(digest: str, manifest: list[dict[str, Any]]) -> str:
    """The fingerprint of a stored version (remembered by digest: versions are immutable)."""
    known = _BY_DIGEST.get(digest)
    if known is None:
        known = fingerprint((entry["path"], entry["sha256"]) for entry in manifest)
        _BY_DIGEST[digest] = known
    return known
