"""Local checks of a skill directory: the strict SKILL.md rules and every bundle rule.

The same code the registry runs (`skreg_proto`), so what passes here passes
the registry's publish validation, and every problem is listed at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from skreg_proto.bundle import pack_directory, read_bundle
from skreg_proto.problems import FieldProblem, FormatError
from skreg_proto.semver import parse_version
from skreg_proto.skillmd import ParseMode, SkillDocument, parse_skill_md

from skreg_cli.errors import CliError, ExitCode

SKILL_FILE = "SKILL.md"


@dataclass
class CheckedSkill:
    """The outcome of checking one directory: the packed bundle, or the problems."""

    directory: Path
    document: SkillDocument | None = None
    bundle: bytes | None = None
    digest: str | None = None
    files: int = 0
    size: int = 0
    version: str | None = None
    problems: list[FieldProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def as_json(self) -> dict[str, object]:
        """For --json output."""
        return {
            "directory": str(self.directory),
            "valid": self.ok,
            "name": self.document.name if self.document else None,
            "version": self.version,
            "digest": self.digest,
            "files": self.files,
            "size": self.size,
            "problems": [{"path": p.path, "message": p.message} for p in self.problems],
        }


def check(directory: Path, *, version: str | None = None) -> CheckedSkill:
    """Check `directory` as a skill to publish (name = the directory's name)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CliError(f"{directory} is not a directory", code=ExitCode.USAGE)
    result = CheckedSkill(directory=directory.resolve())
    skill_md = directory / SKILL_FILE
    if skill_md.is_file() and not skill_md.is_symlink():
        try:
            result.document = parse_skill_md(
                skill_md.read_bytes(), mode=ParseMode.STRICT, expected_name=result.directory.name
            )
        except FormatError as exc:
            result.problems.extend(exc.problems)
    try:
        packed = pack_directory(directory)
        bundle = read_bundle(packed)
    except FormatError as exc:
        result.problems.extend(exc.problems)
    else:
        result.bundle, result.digest = packed, bundle.digest
        result.files, result.size = len(bundle.manifest), bundle.total_size
    _check_version(result, version)
    return result


def _check_version(result: CheckedSkill, version: str | None) -> None:
    declared = result.document.version if result.document else None
    result.version = version or declared
    if result.version is None:
        return
    try:
        parse_version(result.version)
    except ValueError as exc:
        path = "--version" if version else "frontmatter.metadata.version"
        result.problems.append(FieldProblem(path, str(exc)))


def describe(problem: FieldProblem) -> str:
    """`path: message`, naming the whole bundle when the path is empty."""
    return f"{problem.path or '(bundle)'}: {problem.message}"
