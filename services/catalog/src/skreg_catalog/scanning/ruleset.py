"""The rules, loaded once from the data files in `rules/`.

- `rules/*.yar`: byte patterns, compiled by YARA-X (linear-time, with a scan timeout).
- `rules/checks.toml`: the metadata of every rule the Python checks report, the line
  rules (regular expressions) and the lists those checks use.

`RULES_VERSION` is the declared version plus a hash of every rule file, so that any
change to a rule changes the version stored with each verdict (and marks it for rescan).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

import yara_x

from skreg_catalog.scanning.report import Severity

Scope = Literal["instructions", "code", "all"]
_SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class RuleMeta:
    """What a finding of this rule says, wherever it was matched."""

    id: str
    family: str
    severity: Severity  # in scripts and other code
    doc_severity: Severity  # in Markdown / text instructions
    message: str


@dataclass(frozen=True)
class LineRule:
    meta: RuleMeta
    scope: Scope
    pattern: FastPattern
    unless: FastPattern | None = None


@dataclass(frozen=True, eq=False)  # hashed by identity: the checks cache per ruleset
class Ruleset:
    version: str
    meta: dict[str, RuleMeta]
    line_rules: tuple[LineRule, ...]
    yara: yara_x.Rules
    yara_meta: dict[str, RuleMeta]  # by YARA rule identifier
    lists: dict[str, Any]
    secret_plugins: tuple[str, ...]
    secret_placeholders: re.Pattern[str]
    discussion: FastPattern  # words that mark a passage as discussing attacks
    pattern_line: FastPattern  # code that builds detection patterns


def _severity(value: object, where: str) -> Severity:
    if value not in _SEVERITIES:
        raise ValueError(f"{where}: severity must be one of {_SEVERITIES}, not {value!r}")
    return value  # narrowed by the membership test above


def _meta(raw: dict[str, Any], where: str) -> RuleMeta:
    severity = _severity(raw["severity"], where)
    return RuleMeta(
        id=str(raw["id"]),
        family=str(raw["family"]),
        severity=severity,
        doc_severity=_severity(raw.get("doc_severity", severity), where),
        message=str(raw["message"]),
    )


def _rule_files() -> list[tuple[str, bytes]]:
    folder = files("skreg_catalog.scanning").joinpath("rules")
    found = [
        (entry.name, entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith((".yar", ".toml"))
    ]
    return sorted(found)


def version_of(sources: list[tuple[str, bytes]]) -> str:
    """The declared rules version plus a hash of every rule file's name and bytes."""
    digest = hashlib.sha256()
    for name, data in sorted(sources):
        digest.update(name.encode() + b"\0" + data + b"\0")
    declared = tomllib.loads(dict(sources)["checks.toml"].decode("utf-8"))["ruleset"]["version"]
    return f"{declared}+{digest.hexdigest()[:12]}"


@cache
def rules_version() -> str:
    """The version of the rules in this build (cheap: reads and hashes the files)."""
    return version_of(_rule_files())


@cache
def load_ruleset() -> Ruleset:
    """Parse and compile every rule file (once per process)."""
    sources = _rule_files()
    checks = tomllib.loads(dict(sources)["checks.toml"].decode("utf-8"))

    meta: dict[str, RuleMeta] = {}
    line_rules: list[LineRule] = []
    for raw in checks["rule"]:
        rule = _meta(raw, f"checks.toml rule {raw.get('id')}")
        meta[rule.id] = rule
        if "pattern" in raw:
            scope = raw.get("scope", "all")
            if scope not in ("instructions", "code", "all"):
                raise ValueError(f"checks.toml rule {rule.id}: unknown scope {scope!r}")
            unless = FastPattern(raw["unless"]) if "unless" in raw else None
            line_rules.append(LineRule(rule, scope, FastPattern(raw["pattern"]), unless))

    compiler = yara_x.Compiler()
    for name, data in sources:
        if name.endswith(".yar"):
            compiler.new_namespace(name.removesuffix(".yar"))
            compiler.add_source(data.decode("utf-8"), origin=name)
    compiled = compiler.build()
    yara_meta: dict[str, RuleMeta] = {}
    for compiled_rule in compiled:
        raw_meta = dict(compiled_rule.metadata)
        entry = _meta(raw_meta, f"YARA rule {compiled_rule.identifier}")
        yara_meta[compiled_rule.identifier] = entry
        meta[entry.id] = entry

    secrets = checks["secrets"]
    return Ruleset(
        version=version_of(sources),
        meta=meta,
        line_rules=tuple(line_rules),
        yara=compiled,
        yara_meta=yara_meta,
        lists=checks["lists"],
        secret_plugins=tuple(secrets["plugins"]),
        secret_placeholders=re.compile(secrets["placeholders"]),
        discussion=FastPattern(checks["lists"]["discussion_words"]),
        pattern_line=FastPattern(checks["lists"]["pattern_line"]),
    )


def lower(severity: Severity, steps: int) -> Severity:
    """`severity` moved `steps` ranks down (negative: up), clamped to low..critical."""
    rank = _SEVERITIES.index(severity) - steps
    return _SEVERITIES[max(0, min(len(_SEVERITIES) - 1, rank))]


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPPER_ESCAPE = re.compile(r"(?<!\\)\\[A-Z]")


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only: offsets stay those of the original text."""
    return text.translate(_ASCII_LOWER)


class FastPattern:
    """A case-insensitive pattern that keeps Python's literal-prefix search fast.

    `re.IGNORECASE` and a leading `\\b` both switch off `re`'s quick scan for the
    pattern's first characters (50x slower on plain text). So the pattern is
    lower-cased and run over ASCII-lower-cased text, and a leading `\\b` of each
    top-level alternative is checked in code instead.
    """

    def __init__(self, source: str) -> None:
        if _UPPER_ESCAPE.search(source):
            raise ValueError(f"upper-case escapes (\\S, \\W, …) cannot be lower-cased: {source!r}")
        self.source = source
        self.pattern = re.compile(_strip_leading_boundaries(source.lower()))

    def finditer(
        self, lowered: str, start: int = 0, end: int | None = None
    ) -> Iterator[re.Match[str]]:
        end = len(lowered) if end is None else end
        for match in self.pattern.finditer(lowered, start, end):
            at = match.start()
            if at > 0 and _is_word(lowered[at - 1]) and _is_word(lowered[at]):
                continue  # the stripped \b: a match must not start mid-word
            yield match

    def search(self, lowered: str, start: int = 0, end: int | None = None) -> re.Match[str] | None:
        return next(self.finditer(lowered, start, end), None)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _strip_leading_boundaries(source: str) -> str:
    """Drop `\\b` where a top-level alternative starts (outside groups and classes)."""
    out: list[str] = []
    depth = 0
    in_class = False
    at_start = True
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\" and index + 1 < len(source):
            pair = source[index : index + 2]
            if at_start and depth == 0 and not in_class and pair == "\\b":
                index += 2
                continue
            out.append(pair)
            index += 2
            at_start = False
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        out.append(char)
        at_start = depth == 0 and not in_class and char == "|"
        index += 1
    return "".join(out)
