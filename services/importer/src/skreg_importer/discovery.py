"""Find the skills in a checkout and turn each into a checked bundle.

A skill is any directory holding a regular `SKILL.md` (`skills/**`, `.claude/skills/**`,
`.agents/skills/**`, `.kiro/skills/**` are found like any other place). `.git` is
skipped, links are never followed (`lstat` only; files opened with `O_NOFOLLOW` by the
packer), and a skill's own subtree is its content, not a place to look for more skills.
Each skill is checked on its own, so one bad `SKILL.md` never hides the others.

The source's path filters (`pathfilters`) are applied while walking: an excluded folder
is never entered. A skill takes its frontmatter `name` (lenient mode: a folder named
otherwise is a warning). Two skills with one name are `duplicate`: see `mark_duplicates`.
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

from skreg_importer.pathfilters import PathFilter

SKILL_FILE = "SKILL.md"
MAX_DIRECTORIES = 50_000
MAX_SKILLS = 5_000


class DiscoveryError(Exception):
    """The checkout cannot be searched at all (missing subdirectory, far too many folders)."""


@dataclass
class DiscoveredSkill:
    """One skill folder: its bundle when valid, else every problem found."""

    path: str  # relative to the repository root, "/"-separated; "" for the root itself
    name: str  # SKILL.md's `name` when it could be read, else the folder name
    bundle: bytes | None = None
    digest: str | None = None
    version: str | None = None
    warnings: list[FieldProblem] = field(default_factory=list)
    problems: list[FieldProblem] = field(default_factory=list)
    duplicate: FieldProblem | None = None  # why this copy of a repeated name is not imported

    @property
    def valid(self) -> bool:
        """True when the skill can be published."""
        return self.bundle is not None and not self.problems and self.duplicate is None


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


def _skill_dirs(
    root: Path, start: Path, filters: PathFilter
) -> list[tuple[Path, os.stat_result | None]]:
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
            if filters.included(_rel(root, directory)):
                found.append((directory, marker.stat(follow_symlinks=False)))
            if len(found) > MAX_SKILLS:
                raise DiscoveryError(f"repository has more than {MAX_SKILLS} skills")
            continue  # the skill's subtree is its content
        pending.extend(
            Path(e.path)
            for e in entries
            if e.is_dir(follow_symlinks=False)
            and e.name.casefold() != ".git"
            and not filters.excluded(_rel(root, Path(e.path)))
        )
    return found


def _rel(root: Path, directory: Path) -> str:
    rel = directory.relative_to(root).as_posix()
    return "" if rel == "." else rel


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
        skill.name = document.name  # lenient: a differing folder name was only a warning
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
    root: Path,
    subdirectory: str | None,
    root_name: str,
    limits: BundleLimits = BundleLimits(),
    filters: PathFilter = PathFilter(),
) -> list[DiscoveredSkill]:
    """Every skill under `root/subdirectory` that the filters let through, each validated
    and (when valid) packed, with repeated names marked."""
    start = _start(root, subdirectory)
    skills = []
    for directory, marker in _skill_dirs(root, start, filters):
        rel = display_name(_rel(root, directory))
        name = root_name if directory == root else display_name(directory.name)
        skills.append(check_skill(directory, marker, rel, name, limits))
    mark_duplicates(skills)
    return skills


def mark_duplicates(skills: list[DiscoveredSkill]) -> None:
    """Never let two folders take turns as one skill's latest version.

    When valid skills share a name: if every copy has the same content, the first one
    found (shallowest path, then alphabetical) is imported and the others are marked;
    if the contents differ, every copy is marked and none is imported. The message
    names all paths and says how to choose one (the source's `exclude` filter).
    """
    by_name: dict[str, list[DiscoveredSkill]] = {}
    for skill in skills:
        if skill.valid:
            by_name.setdefault(skill.name, []).append(skill)
    for name, copies in by_name.items():
        if len(copies) < 2:
            continue
        paths = ", ".join(repr(copy.path or "/") for copy in copies)
        if len({copy.digest for copy in copies}) == 1:
            kept = copies[0]
            for copy in copies[1:]:
                copy.duplicate = FieldProblem(
                    "name",
                    f"{name!r} is also the name of the SKILL.md in {kept.path or '/'!r} "
                    f"(same content), which was imported instead; exclude {copy.path!r} "
                    "with the source's path filters to silence this",
                )
            continue
        for copy in copies:
            copy.duplicate = FieldProblem(
                "name",
                f"{len(copies)} SKILL.md files in this source are named {name!r} ({paths}) "
                "with different content: none was imported. Keep one with the source's "
                "path filters (e.g. exclude 'preview/**') or rename the others",
            )
