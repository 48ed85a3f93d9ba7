"""SKILL.md: YAML frontmatter between `---` lines, then a Markdown body (see SKILL_FORMAT.md).

Strict mode is for publishing; lenient mode is for imports and listings, where
skills written for other tools must still be readable. Both report every
problem at once through FormatError.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Any

import msgspec

from skreg_proto.problems import FieldProblem, FormatError
from skreg_proto.yamlsafe import Map, Node, Scalar, Seq, describe, load_yaml, to_plain

NAME_MAX = 64
DESCRIPTION_MAX = 1024
COMPATIBILITY_MAX = 500
FIELDS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
# Top-level keys other tools put in SKILL.md; lenient mode reads them as their
# `metadata.*` equivalents, strict mode points the author there.
LENIENT_EXTRAS = ("version", "tags", "author")
# Top-level keys lenient mode reads as tags (`keywords` is common in the wild).
LENIENT_TAG_KEYS = ("tags", "keywords")

_NAME_CHARS = re.compile(r"[a-z0-9-]+")
_CLOSING = re.compile(r"^---[ \t]*$", re.MULTILINE)
_TAG_SPLIT = re.compile(r"[\s,]+")


class ParseMode(enum.Enum):
    """How forgiving the parser is: STRICT to publish, LENIENT to import or list."""

    STRICT = "strict"
    LENIENT = "lenient"


class SkillDocument(msgspec.Struct, frozen=True):
    """A parsed, validated SKILL.md."""

    name: str
    description: str
    body: str
    license: str | None
    compatibility: str | None
    allowed_tools: str | None
    metadata: dict[str, str]
    frontmatter: dict[str, Any]
    version: str | None
    tags: list[str]
    author: str | None
    warnings: list[FieldProblem]


def parse_skill_md(
    data: bytes | str,
    *,
    mode: ParseMode,
    expected_name: str | None = None,
    max_frontmatter_bytes: int = 64 * 1024,
) -> SkillDocument:
    """Parse and validate a SKILL.md; raises FormatError listing every problem."""
    frontmatter_text, body = _split(_decode(data), max_frontmatter_bytes)
    # The frontmatter starts on line 2 of SKILL.md; YAML errors cite file lines.
    root, problems = load_yaml(frontmatter_text, path="frontmatter", line_offset=1)
    if not isinstance(root, Map):
        what = "empty" if root is None else describe(root)
        problems.append(FieldProblem("frontmatter", f"must be a mapping of fields, not {what}"))
        raise FormatError(problems)
    return _Checker(mode, problems).document(root, body, expected_name)


def _fail(message: str) -> FormatError:
    return FormatError([FieldProblem("SKILL.md", message)])


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail(f"is not valid UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split(text: str, max_bytes: int) -> tuple[str, str]:
    first_end = text.find("\n")
    if text[: first_end if first_end >= 0 else len(text)].rstrip(" \t") != "---":
        raise _fail("must start with a '---' line opening the YAML frontmatter")
    closing = _CLOSING.search(text, first_end + 1) if first_end >= 0 else None
    if closing is None:
        raise _fail("the YAML frontmatter has no closing '---' line")
    frontmatter = text[first_end + 1 : closing.start()]
    # Checked before parsing, so an oversized frontmatter costs no YAML work. The
    # character count goes first: it is never more than the byte count, and cheap.
    # "surrogatepass" because a str caller may hand us lone surrogates.
    too_big = len(frontmatter) > max_bytes
    if too_big or len(frontmatter.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FormatError([FieldProblem("frontmatter", f"is larger than {max_bytes} bytes")])
    return frontmatter, text[closing.end() + 1 :]


def _name_problem(name: str) -> str | None:
    if not name:
        return "must not be empty"
    if len(name) > NAME_MAX:
        return f"must be at most {NAME_MAX} characters, not {len(name)}"
    if not _NAME_CHARS.fullmatch(name):
        return "may contain only lowercase ASCII letters, digits and '-'"
    if name.startswith("-") or name.endswith("-"):
        return "must not start or end with '-'"
    if "--" in name:
        return "must not contain '--'"
    return None


def _folder_mismatch(name: str, folder: str, lenient: bool) -> str:
    """Which is the folder, which is the field, and what to rename."""
    fix = f"rename the folder to {name!r} or set `name: {folder}`"
    if lenient:
        return (
            f"the folder is {folder!r} but the field `name` is {name!r}: imported as "
            f"{name!r}; {fix} to make them match"
        )
    return (
        f"must equal the skill's name {folder!r} (its folder), but the field `name` is "
        f"{name!r}: {fix}"
    )


def _tags(values: list[str]) -> list[str]:
    """Lowercase, split on commas and spaces, drop empties and duplicates, keep order."""
    parts = (part.lower() for value in values for part in _TAG_SPLIT.split(value))
    return list(dict.fromkeys(part for part in parts if part))


class _Checker:
    """Validates a frontmatter tree, collecting problems (and lenient warnings)."""

    def __init__(self, mode: ParseMode, problems: list[FieldProblem]) -> None:
        self.lenient = mode is ParseMode.LENIENT
        self.problems = problems
        self.warnings: list[FieldProblem] = []

    def document(self, root: Map, body: str, expected_name: str | None) -> SkillDocument:
        values: dict[str, Any] = {}
        for key, (_, node) in root.entries.items():
            value = self.field(key, node, f"frontmatter.{key}", expected_name)
            if value is not None:
                values[key] = value
        for key in ("name", "description"):
            if key not in root.entries:
                self.problems.append(FieldProblem(f"frontmatter.{key}", "is required"))
        if self.problems:
            raise FormatError(self.problems)
        metadata: dict[str, str] = values.get("metadata", {})
        # `metadata.*` is the convention; top-level extras (lenient) only fill gaps.
        version = metadata.get("version", values.get("version"))
        author = metadata.get("author", values.get("author"))
        # Tags from every place real repositories put them, merged (duplicates dropped).
        tags = [metadata["tags"]] if "tags" in metadata else []
        tags += values.get("tags", []) + values.get("keywords", [])
        return SkillDocument(
            name=values["name"],
            description=values["description"],
            body=body,
            license=values.get("license"),
            compatibility=values.get("compatibility"),
            allowed_tools=values.get("allowed-tools"),
            metadata=dict(metadata),  # not shared with `frontmatter`
            frontmatter=values,
            version=version or None,
            tags=_tags(tags),
            author=author or None,
            warnings=self.warnings,
        )

    def field(self, key: str, node: Node, path: str, expected_name: str | None) -> Any:
        if key == "name":
            name = self.checked(node, path, _name_problem)
            if name is not None and expected_name is not None and name != expected_name:
                # Real collections often name the folder differently: lenient mode takes
                # the field (with a warning); strict mode refuses.
                self.soft(path, _folder_mismatch(name, expected_name, self.lenient))
            return name
        if key == "description":
            return self.description(node, path)
        if key in ("license", "allowed-tools"):
            return self.text(node, path, joiner=" " if key == "allowed-tools" else None)
        if key == "compatibility":
            return self.compatibility(node, path)
        if key == "metadata":
            return self.metadata(node, path)
        if key == "keywords" and self.lenient:
            self.warn(path, "is not a SKILL.md field; read as tags (use metadata.tags)")
            return self.tag_list(node, path)
        if key in LENIENT_EXTRAS and self.lenient:
            self.warn(path, f"is not a SKILL.md field; read as metadata.{key}")
            return self.tag_list(node, path) if key == "tags" else self.text(node, path)
        if key in LENIENT_EXTRAS:
            self.problem(path, f"is not a SKILL.md field; use metadata.{key}")
        elif self.lenient:
            self.warn(path, "is not a SKILL.md field; ignored")
            return to_plain(node)
        else:
            self.problem(path, f"is not a SKILL.md field (allowed: {', '.join(FIELDS)})")
        return None

    def checked(self, node: Node, path: str, check: Callable[[str], str | None]) -> str | None:
        value = self.text(node, path, required=True)
        message = None if value is None else check(value)
        if message is not None:
            self.problem(path, message)
        return None if message else value

    def description(self, node: Node, path: str) -> str | None:
        def check(text: str) -> str | None:
            size = len(text.strip())
            if size > DESCRIPTION_MAX and not self.lenient:
                return f"must be at most {DESCRIPTION_MAX} characters, not {size}"
            return None if size else "must not be empty"

        value = self.checked(node, path, check)
        if value is None:
            return None
        value = value.strip()
        if len(value) > DESCRIPTION_MAX:
            # Lenient: a long description is no reason to drop a skill; cut it, and say so.
            self.warn(
                path,
                f"is {len(value)} characters, over the {DESCRIPTION_MAX} limit: cut to "
                f"{DESCRIPTION_MAX} (shorten it in SKILL.md)",
            )
            value = value[: DESCRIPTION_MAX - 1].rstrip() + "\u2026"
        return value

    def compatibility(self, node: Node, path: str) -> str | None:
        value = self.text(node, path)
        if value is not None and len(value) > COMPATIBILITY_MAX:
            # Lenient keeps the text: an over-long note is no reason to drop a skill.
            self.soft(path, f"must be at most {COMPATIBILITY_MAX} characters, not {len(value)}")
        return value

    def metadata(self, node: Node, path: str) -> dict[str, str] | None:
        if not isinstance(node, Map):
            self.soft(path, f"must be a mapping of string to string, not {describe(node)}")
            return None
        result: dict[str, str] = {}
        for key, (key_node, value_node) in node.entries.items():
            value_path = f"{path}.{key}"
            if key_node.kind != "str":
                self.soft(value_path, f"key must be a string, not {describe(key_node)}")
                if not self.lenient:
                    continue
            value = self.text(value_node, value_path, joiner=", ")
            if value is not None:
                result[key] = value
        return result

    def tag_list(self, node: Node, path: str) -> list[str] | None:
        if not isinstance(node, Seq):
            value = self.text(node, path)
            return None if value is None else [value]
        tags = [self.text(item, f"{path}[{i}]") for i, item in enumerate(node.items)]
        return [tag for tag in tags if tag is not None]

    def text(
        self, node: Node, path: str, *, required: bool = False, joiner: str | None = None
    ) -> str | None:
        """The node as text; other types are problems (strict) or coerced with a warning."""
        if isinstance(node, Scalar) and node.kind == "str":
            return node.text
        what = describe(node)
        if self.lenient:
            if isinstance(node, Scalar) and node.kind != "null":
                self.warn(path, f"{what} read as the text {node.text!r}")
                return node.text
            if joiner is not None and isinstance(node, Seq):
                texts = [i.text for i in node.items if isinstance(i, Scalar) and i.kind != "null"]
                if len(texts) == len(node.items):
                    self.warn(path, "a list joined into one string")
                    return joiner.join(texts)
            if not required:
                self.warn(path, f"{what} ignored; expected a string")
                return None
        self.problem(path, f"must be a string, not {what}")
        return None

    def soft(self, path: str, message: str) -> None:
        """A problem in strict mode, a warning in lenient mode."""
        (self.warn if self.lenient else self.problem)(path, message)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(FieldProblem(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(FieldProblem(path, message))
