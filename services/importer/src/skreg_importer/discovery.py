"""Find the skills in a checkout and turn each into a checked bundle.

A skill is any directory holding a regular `SKILL.md` (`skills/**`, `.claude/skills/**`,
`.agents/skills/**`, `.kiro/skills/**` are found like any other place). `.git` is
skipped, links are never followed (`lstat` only; files opened with `O_NOFOLLOW` by the
packer), and a skill's own subtree is its content, not a place to look for more skills.
Each skill is checked on its own, so one bad `SKILL.md` never hides the others.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from skreg_proto.bundle import BundleLimits, pack_directory, read_bundle
from skreg_proto.bundle_limits import display_name
from skreg_proto.problems import FieldProblem, FormatError
from skreg_proto.skillmd import ParseMode, parse_skill_md

SKILL_FILE = "SKILL.md"
MAX_DIRECTORIES = 50_000
MAX_SKILLS = 5_000


class DiscoveryError(Exception):
    """The checkout cannot be searched at all (missing subdirectory, far too many folders)."""


@dataclass
class DiscoveredSkill:
    """One skill folder: its bundle when valid, else every problem found."""

    path: str  # relative to the repository root, "/"-separated; "" for the root itself
    name: str  # the folder name, which SKILL.md's `name` must equal
    bundle: bytes | None = None
    digest: str | None = None
    version: str | None = None
    warnings: list[FieldProblem] = field(default_factory=list)
    problems: list[FieldProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when the skill can be published."""
        return self.bundle is not None and not self.problems


def _start(root: Path, subdirectory: str | None) -> Path:
    current = root
    for part in (subdirectory or "").strip("/").split("/"):
        if not part:
            continue
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            raise DiscoveryError(
                f"subdirectory {subdirectory!r} is not in the repository"
            ) from None
        if not stat.S_ISDIR(info.st_mode):  # a link is refused too: never followed
            raise DiscoveryError(f"subdirectory {subdirectory!r} is not a directory")
    return current


def _skill_dirs(start: Path) -> list[tuple[Path, os.stat_result | None]]:
    """Directories holding a `SKILL.md` entry (with its lstat), breadth-first, sorted."""
    found: list[tuple[Path, os.stat_result | None]] = []
    pending = [start]
    visited = 0
    while pending:
        directory = pending.pop(0)
        visited += 1
        if visited > MAX_DIRECTORIES:
            raise DiscoveryError(f"repository has more than {MAX_DIRECTORIES} directories")
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        marker = next((e for e in entries if e.name == SKILL_FILE), None)
        if marker is not None:
            found.append((directory, marker.stat(follow_symlinks=False)))
            if len(found) > MAX_SKILLS:
                raise DiscoveryError(f"repository has more than {MAX_SKILLS} skills")
            continue  # the skill's subtree is its content
        pending.extend(
            Path(e.path)
            for e in entries
            if e.is_dir(follow_symlinks=False) and e.name.casefold() != ".git"
        )
    return found


def _read_skill_md(path: Path, limit: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1)


def check_skill(
    directory: Path, marker: os.stat_result | None, rel: str, name: str, limits: BundleLimits
) -> DiscoveredSkill:
    """Validate one skill folder leniently and pack it; problems are collected, not raised."""
    skill = DiscoveredSkill(path=rel, name=name)
    if marker is None or not stat.S_ISREG(marker.st_mode):
        skill.problems.append(FieldProblem(SKILL_FILE, "must be a regular file, not a link"))
        return skill
    if marker.st_size > limits.max_file_bytes:
        skill.problems.append(FieldProblem(SKILL_FILE, "is larger than the per-file limit"))
        return skill
    try:
        text = _read_skill_md(directory / SKILL_FILE, limits.max_file_bytes)
    except OSError as exc:
        skill.problems.append(FieldProblem(SKILL_FILE, f"cannot be read: {exc.strerror}"))
        return skill
    try:
        document = parse_skill_md(
            text,
            mode=ParseMode.LENIENT,
            expected_name=name,
        )
        skill.warnings = list(document.warnings)
        skill.version = document.version
    except FormatError as exc:
        skill.problems.extend(exc.problems)
    try:
        bundle = pack_directory(directory, limits)
    except FormatError as exc:
        skill.problems.extend(exc.problems)
    else:
        if not skill.problems:
            skill.bundle = bundle
            skill.digest = read_bundle(bundle, limits).digest
    return skill


def discover(
    root: Path, subdirectory: str | None, root_name: str, limits: BundleLimits = BundleLimits()
) -> list[DiscoveredSkill]:
    """Every skill under `root/subdirectory`, each validated and (when valid) packed."""
    start = _start(root, subdirectory)
    skills = []
    for directory, marker in _skill_dirs(start):
        rel = display_name(directory.relative_to(root).as_posix())
        rel = "" if rel == "." else rel
        name = root_name if directory == root else display_name(directory.name)
        skills.append(check_skill(directory, marker, rel, name, limits))
    return skills
