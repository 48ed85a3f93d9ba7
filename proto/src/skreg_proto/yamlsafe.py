"""A bounded, safe YAML reader: a small tree of scalars that keep their source text.

We drive PyYAML's parser event by event and build the tree ourselves instead of
using its composer and constructor, because that is where every hostile-input
hazard lives: object-building tags, alias expansion, recursion on deep nesting,
silently-overwritten duplicate keys, and floats that lose their text
(`1.10` -> `1.1`). Here a scalar is always its source text plus the type YAML
would have given it, so callers decide whether a non-string is an error or text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

import msgspec
import yaml

from skreg_proto.problems import FieldProblem, FormatError

ScalarKind: TypeAlias = Literal["str", "null", "bool", "int", "float", "timestamp"]

# Nesting, alias and size limits. We chose to bound aliases rather than refuse
# them (they are valid YAML, if rare in frontmatter), and bound them twice: at
# most MAX_ALIASES alias uses, and every alias is charged the full expanded size
# of what it points at against MAX_NODES. Counting aliases alone is not enough:
# 72 aliases already make a "billion laughs"; with the size charge it is refused
# after at most MAX_NODES nodes of work, whatever its shape.
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_NODES = 50_000

_YAML = "tag:yaml.org,2002:"
_SCALAR_KINDS: dict[str, ScalarKind] = {
    f"{_YAML}{kind}": kind for kind in ("str", "null", "bool", "int", "float", "timestamp")
}
_SEQ_TAG = f"{_YAML}seq"
_MAP_TAG = f"{_YAML}map"
_PLAIN_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,17})")


class Scalar(msgspec.Struct, frozen=True):
    """A YAML scalar: its source text and the type YAML would give it."""

    text: str
    kind: ScalarKind


class Seq(msgspec.Struct, frozen=True):
    """A YAML sequence."""

    items: list[Node]


class Map(msgspec.Struct, frozen=True):
    """A YAML mapping, keyed by the key's text; the key node keeps its YAML type."""

    entries: dict[str, tuple[Scalar, Node]]


Node: TypeAlias = "Scalar | Seq | Map"


class _EventLoader(yaml.SafeLoader):
    """SafeLoader used only for its reader, scanner, parser and resolver.

    The pure-Python parser, not CSafeLoader: frontmatter is small, and this way
    behaviour and error messages never depend on whether libyaml is installed.
    The wrappers only add types: the PyYAML stubs leave the parser untyped.
    """

    def next_event(self) -> yaml.Event:
        """Consume and return the next parser event."""
        get: Callable[[], yaml.Event] = self.get_event
        return get()

    def upcoming_event(self) -> yaml.Event:
        """Return the next parser event without consuming it."""
        peek: Callable[[], yaml.Event] = self.peek_event
        return peek()

    def scalar_tag(self, value: str, implicit: tuple[bool, bool]) -> str:
        """The tag YAML's implicit resolution gives an untagged scalar."""
        resolve: Callable[[type[yaml.Node], str, tuple[bool, bool]], str] = self.resolve
        return resolve(yaml.ScalarNode, value, implicit)


def load_yaml(
    text: str, *, path: str, line_offset: int = 0
) -> tuple[Node | None, list[FieldProblem]]:
    """Read one YAML document (None if empty) and the soft problems found in it.

    Broken syntax and exceeded limits raise FormatError at once; duplicate keys
    and unsupported tags are returned so a caller can report them with the rest.
    """
    loader: _EventLoader | None = None
    try:
        # The reader rejects control characters as soon as it is built.
        loader = _EventLoader(text)
        builder = _Builder(loader, path, line_offset)
        return builder.document(), builder.problems
    except yaml.YAMLError as exc:
        raise FormatError([FieldProblem(path, _yaml_message(exc, text, line_offset))]) from None
    except FormatError:
        raise
    except Exception as exc:
        # PyYAML's scanner lets a few plain exceptions escape on hostile input
        # (e.g. `"\UFFFFFFFF"` -> ValueError from chr()); never let them out.
        raise FormatError([FieldProblem(path, f"invalid YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def to_plain(node: Node) -> Any:
    """The node as JSON-safe Python values; floats and dates keep their source text."""
    if isinstance(node, Scalar):
        return _plain_scalar(node)
    if isinstance(node, Seq):
        return [to_plain(item) for item in node.items]
    return {key: to_plain(value) for key, (_, value) in node.entries.items()}


def describe(node: Node) -> str:
    """A short human name for the node's type, for messages."""
    if isinstance(node, Seq):
        return "a list"
    if isinstance(node, Map):
        return "a mapping"
    return {"str": "a string", "null": "null", "bool": "a boolean", "timestamp": "a date"}.get(
        node.kind, "a number"
    )


def _plain_scalar(node: Scalar) -> Any:
    if node.kind == "null":
        return None
    if node.kind == "bool":
        return yaml.constructor.SafeConstructor.bool_values.get(node.text.lower(), node.text)
    digits = node.text.replace("_", "")
    # Only plain decimal ints become numbers: YAML 1.1 reads `0755` as octal and
    # `1:30` as base 60, and huge ints would not survive JSON; those stay text.
    if node.kind == "int" and _PLAIN_INT.fullmatch(digits):
        return int(digits)
    return node.text


def _yaml_message(exc: yaml.YAMLError, text: str, line_offset: int) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        line = exc.problem_mark.line + 1 + line_offset
        context = f" ({exc.context})" if exc.context else ""
        return f"invalid YAML at line {line}: {exc.problem}{context}"
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1 + line_offset
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return f"invalid YAML at line {line}: character #x{char:04x} is not allowed"
    return f"invalid YAML: {exc}"


# A built node with its expanded size (nodes, counting through aliases) and height.
_Built: TypeAlias = tuple[Node, int, int]


class _Builder:
    """Turns parser events into a Node tree, enforcing the limits as it goes."""

    def __init__(self, loader: _EventLoader, path: str, line_offset: int) -> None:
        self.loader = loader
        self.path = path
        self.line_offset = line_offset
        self.anchors: dict[str, _Built] = {}
        self.aliases = 0
        self.nodes = 0
        self.problems: list[FieldProblem] = []

    def document(self) -> Node | None:
        self.loader.next_event()  # StreamStart
        if self.loader.check_event(yaml.StreamEndEvent):
            return None
        self.loader.next_event()  # DocumentStart
        node, _, _ = self.node(self.path, 0)
        self.loader.next_event()  # DocumentEnd
        if not self.loader.check_event(yaml.StreamEndEvent):
            raise self.fail(self.loader.upcoming_event(), "expected a single YAML document")
        return node

    def node(self, path: str, depth: int) -> _Built:
        event = self.loader.next_event()
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, depth)
        if isinstance(event, yaml.ScalarEvent):
            built: _Built = (self.scalar(event, path), 1, 0)
        elif not isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            raise self.fail(event, f"unexpected {type(event).__name__}")  # parser guarantees not
        elif depth >= MAX_DEPTH:
            raise self.fail(event, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.SequenceStartEvent):
            built = self.sequence(event, path, depth)
        else:
            built = self.mapping(event, path, depth)
        self.spend(1, event)
        if event.anchor is not None:
            self.anchors[event.anchor] = built
        return built

    def alias(self, event: yaml.AliasEvent, depth: int) -> _Built:
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise self.fail(event, f"more than {MAX_ALIASES} aliases")
        if event.anchor not in self.anchors:
            raise self.fail(event, f"alias *{event.anchor} refers to no earlier anchor")
        built = self.anchors[event.anchor]
        if depth + built[2] > MAX_DEPTH:
            raise self.fail(event, f"nested deeper than {MAX_DEPTH} levels")
        self.spend(built[1], event)
        return built

    def scalar(self, event: yaml.ScalarEvent, path: str) -> Scalar:
        if event.tag is None or event.tag == "!":
            tag = self.loader.scalar_tag(event.value, event.implicit)
            # Implicit merge (`<<`) and value (`=`) keys are just text here.
            return Scalar(event.value, _SCALAR_KINDS.get(tag, "str"))
        kind = _SCALAR_KINDS.get(event.tag)
        if kind is None:
            self.unsupported_tag(event.tag, path)
            kind = "str"
        return Scalar(event.value, kind)

    def sequence(self, event: yaml.SequenceStartEvent, path: str, depth: int) -> _Built:
        self.check_tag(event.tag, _SEQ_TAG, path)
        items: list[Node] = []
        size, height = 1, 1
        while not self.loader.check_event(yaml.SequenceEndEvent):
            item, item_size, item_height = self.node(f"{path}[{len(items)}]", depth + 1)
            items.append(item)
            size, height = size + item_size, max(height, item_height + 1)
        self.loader.next_event()
        return Seq(items), size, height

    def mapping(self, event: yaml.MappingStartEvent, path: str, depth: int) -> _Built:
        self.check_tag(event.tag, _MAP_TAG, path)
        entries: dict[str, tuple[Scalar, Node]] = {}
        size, height = 1, 1
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_event = self.loader.upcoming_event()
            key, key_size, _ = self.node(f"{path}.<key>", depth + 1)
            value_path = f"{path}.{key.text}" if isinstance(key, Scalar) else path
            value, value_size, value_height = self.node(value_path, depth + 1)
            size, height = size + key_size + value_size, max(height, value_height + 1)
            if not isinstance(key, Scalar):
                self.problems.append(FieldProblem(path, f"{describe(key)} cannot be a key"))
            elif key.text in entries:
                line = self.line(key_event)
                message = f"duplicate key {key.text!r} at line {line}"
                self.problems.append(FieldProblem(value_path, message))
            else:
                entries[key.text] = (key, value)
        self.loader.next_event()
        return Map(entries), size, height

    def check_tag(self, tag: str | None, default: str, path: str) -> None:
        if tag is not None and tag not in ("!", default):
            self.unsupported_tag(tag, path)

    def unsupported_tag(self, tag: str, path: str) -> None:
        # `!!python/object:...` and friends are how YAML builds objects; we only
        # ever build plain data, so any tag outside the core schema is refused.
        self.problems.append(FieldProblem(path, f"unsupported YAML tag {tag!r}"))

    def spend(self, nodes: int, event: yaml.Event) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise self.fail(event, f"expands to more than {MAX_NODES} values")

    def line(self, event: yaml.Event) -> int:
        mark = event.start_mark
        return (mark.line if mark is not None else 0) + 1 + self.line_offset

    def fail(self, event: yaml.Event, message: str) -> FormatError:
        return FormatError([FieldProblem(self.path, f"line {self.line(event)}: {message}")])
