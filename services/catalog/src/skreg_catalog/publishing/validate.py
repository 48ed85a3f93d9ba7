"""Checking a bundle before any transaction opens: bundle rules, SKILL.md, version, namespace.

Pure and synchronous (large bundles run in a worker thread). Every problem is
collected and reported at once through `FormatError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from skreg_proto.bundle import Bundle, BundleLimits, read_bundle
from skreg_proto.problems import FieldProblem, FormatError
from skreg_proto.semver import Version as SemVer
from skreg_proto.semver import parse_version
from skreg_proto.skillmd import ParseMode, SkillDocument, parse_skill_md

from skreg_catalog.rendering import Rendered
from skreg_catalog.review.policy import Outcome
from skreg_catalog.scanning import ScanReport
from skreg_catalog.skills.models import VERSION_LENGTH

SKILL_FILE = "SKILL.md"
# The same shape as auth's usernames, so every user's default namespace is valid.
NAMESPACE = re.compile(r"[a-z0-9][a-z0-9_-]{0,38}")
# `1`, `1.2`, `v1.2.3`: versions real SKILL.md files declare that semver spells otherwise.
_SHORT_VERSION = re.compile(r"v?(\d{1,9}(?:\.\d{1,9}){0,2})")


@dataclass(frozen=True)
class CheckedSkill:
    """A bundle that passed every check, with what was read from its SKILL.md."""

    data: bytes
    bundle: Bundle
    document: SkillDocument
    namespace: str
    version: SemVer | None  # None only for imports, which generate one later
    warnings: tuple[FieldProblem, ...] = ()  # imports: how a declared version was read
    # The body as sanitised HTML, rendered before the write transaction opens and stored
    # with the version (`with_rendered_body`); None: rendered later (read, background).
    rendered: Rendered | None = None
    # What the scan decided (`skreg_catalog.review.gate.scanned`), before the transaction
    # opened; None: not scanned yet (dry runs of old callers, tests building rows).
    trust: Outcome | None = None
    report: ScanReport | None = None


def namespace_problem(namespace: str) -> FieldProblem | None:
    """Why `namespace` is not a valid namespace name, if it is not."""
    if NAMESPACE.fullmatch(namespace):
        return None
    return FieldProblem(
        "namespace",
        "must be 1-39 characters: lowercase letters, digits, '-' or '_', "
        "starting with a letter or digit",
    )


def _version_problem(text: str) -> tuple[SemVer | None, FieldProblem | None]:
    if len(text) > VERSION_LENGTH:
        return None, FieldProblem("version", f"must be at most {VERSION_LENGTH} characters")
    try:
        return parse_version(text), None
    except ValueError as exc:
        return None, FieldProblem("version", str(exc))


def _nul_problems(document: SkillDocument) -> list[FieldProblem]:
    """NUL characters: valid UTF-8, but no database text column (PostgreSQL's) stores them."""
    found: list[FieldProblem] = []
    if "\x00" in document.body:
        found.append(FieldProblem(SKILL_FILE, "the body contains a NUL character"))

    def walk(value: Any, path: str) -> None:
        if isinstance(value, str) and "\x00" in value:
            found.append(FieldProblem(path, "contains a NUL character"))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(str(key), path)
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(document.frontmatter, "frontmatter")
    return found


def check_skill(
    data: bytes,
    *,
    limits: BundleLimits,
    mode: ParseMode,
    namespace: str,
    version: str | None,
    version_required: bool,
    declared: bool = True,
) -> CheckedSkill:
    """Open and check the bundle, parse SKILL.md, resolve the version; all problems at once.

    The version is the one given, else (when `declared`) SKILL.md's `metadata.version`.
    Strict mode also holds `name` to the bundle's single top-level folder, when it has
    one; imports (lenient) name the skill after the field.
    """
    bundle = read_bundle(data, limits)  # a broken archive cannot be checked any further
    problems: list[FieldProblem] = []
    document: SkillDocument | None = None
    folder = bundle.folder if mode is ParseMode.STRICT else None
    try:
        document = parse_skill_md(bundle.files[SKILL_FILE], mode=mode, expected_name=folder)
    except FormatError as exc:
        problems.extend(exc.problems)
    ns_problem = namespace_problem(namespace)
    if ns_problem is not None:
        problems.append(ns_problem)
    text = version or (document.version if document and declared else None)
    parsed: SemVer | None = None
    notes: list[FieldProblem] = []
    if text and not version and mode is ParseMode.LENIENT:
        parsed, notes = _lenient_declared(text)
    elif text:
        parsed, problem = _version_problem(text)
        if problem is not None:
            problems.append(problem)
    elif version_required and document is not None:
        problems.append(
            FieldProblem(
                "version", "no version given: pass `version` or set metadata.version in SKILL.md"
            )
        )
    if document is not None:
        problems.extend(_nul_problems(document))
    if problems or document is None:
        raise FormatError(problems)
    return CheckedSkill(
        data=data,
        bundle=bundle,
        document=document,
        namespace=namespace,
        version=parsed,
        warnings=tuple(notes),
    )


def _lenient_declared(text: str) -> tuple[SemVer | None, list[FieldProblem]]:
    """A declared version as imports read it: `1.0` or `v2` are padded to semver (real
    SKILL.md files write them so); anything else that is not semver is ignored, so the
    registry generates one. Either way with a warning, never a dropped skill."""
    parsed, problem = _version_problem(text)
    if problem is None:
        return parsed, []
    short = _SHORT_VERSION.fullmatch(text.strip())
    if short is not None:
        parts = [str(int(part)) for part in short.group(1).split(".")]
        padded = ".".join(parts + ["0"] * (3 - len(parts)))
        note = f"{text!r} is not semver: read as {padded} (write {padded} in SKILL.md)"
        return parse_version(padded), [FieldProblem("version", note)]
    note = f"{text!r} is not a semver version: ignored, a version is generated instead"
    return None, [FieldProblem("version", note)]
