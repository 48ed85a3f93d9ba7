"""A source's path filters: `include` and `exclude` globs over skill folder paths.

Paths are relative to the repository root and `/`-separated (the `path` a run's results
show). `*` and `?` stay within one path segment, `[...]` is a character class, and `**`
stands for any number of whole segments (`preview/**`, `**/drafts`). A folder matches
when it or any folder above it matches, so `preview` and `preview/**` both cover
everything under `preview/`. Excluded folders are never entered; with `include` set,
only skills under a matching folder are imported. Dot folders are ordinary folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from skreg_proto.problems import FieldProblem


def normalise_globs(patterns: Sequence[str], field: str, problems: list[FieldProblem]) -> list[str]:
    """The patterns trimmed (`./x/` → `x`), without repeats; bad ones become problems."""
    out: list[str] = []
    for index, raw in enumerate(patterns):
        pattern = raw.strip().removeprefix("./").strip("/")
        path = f"{field}[{index}]"
        if raw.strip().startswith("/"):
            problems.append(FieldProblem(path, "must be relative to the repository root"))
        elif not pattern or "\x00" in pattern or "\\" in pattern:
            problems.append(FieldProblem(path, "must be a non-empty '/'-separated glob"))
        elif _unclosed_class(pattern):
            problems.append(FieldProblem(path, "has a '[' without its closing ']'"))
        elif pattern not in out:
            out.append(pattern)
    return out


def _unclosed_class(pattern: str) -> bool:
    return any("[" in part and "]" not in part.split("[", 1)[1] for part in pattern.split("/"))


# A segment pattern as tokens: "*", "?", a literal character, or a class (negate, chars).
Token = tuple[str, str] | tuple[bool, frozenset[str]]
STAR: Token = ("*", "")
ANY: Token = ("?", "")


def _class(body: str) -> frozenset[str]:
    chars: set[str] = set()
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            low, high = ord(body[index]), ord(body[index + 2])
            chars.update(map(chr, range(low, min(high, low + 0x10000) + 1)))
            index += 3
        else:
            chars.add(body[index])
            index += 1
    return frozenset(chars)


def _tokens(part: str) -> tuple[Token, ...]:
    out: list[Token] = []
    index = 0
    while index < len(part):
        char = part[index]
        if char == "*":
            if not out or out[-1] != STAR:  # "**" inside a segment is one "*"
                out.append(STAR)
        elif char == "?":
            out.append(ANY)
        elif char == "[" and "]" in part[index + 2 :]:
            close = part.index("]", index + 2)  # "[]x]": a leading "]" is a member
            body = part[index + 1 : close]
            negate = body[:1] in ("!", "^")
            out.append((negate, _class(body[1:] if negate else body)))
            index = close
        else:
            out.append(("=", char))
        index += 1
    return tuple(out)


def _one(token: Token, char: str) -> bool:
    kind, value = token
    if isinstance(kind, bool):
        assert isinstance(value, frozenset)
        return (char in value) != kind
    return kind == "?" or value == char


def _segment_matches(tokens: tuple[Token, ...], text: str) -> bool:
    """Wildcard matching in O(len(tokens) * len(text)): no backtracking blow-up, so a
    glob like `*a*a*a*a*b` costs no more than any other (a regex would take minutes)."""
    t = p = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(tokens) and tokens[p] == STAR:
            star, mark, p = p, t, p + 1
        elif p < len(tokens) and _one(tokens[p], text[t]):
            t, p = t + 1, p + 1
        elif star >= 0:
            mark += 1
            t, p = mark, star + 1
        else:
            return False
    while p < len(tokens) and tokens[p] == STAR:
        p += 1
    return p == len(tokens)


@dataclass(frozen=True)
class Glob:
    """One compiled glob: per path segment its tokens, or None for `**`."""

    parts: tuple[tuple[Token, ...] | None, ...]

    @classmethod
    def of(cls, pattern: str) -> Glob:
        """Compile a pattern already checked by `normalise_globs`."""
        return cls(tuple(None if p == "**" else _tokens(p) for p in pattern.split("/")))

    def _closure(self, states: set[int]) -> set[int]:
        # `**` may stand for no segment at all.
        pending = list(states)
        while pending:
            p = pending.pop()
            if p < len(self.parts) and self.parts[p] is None and p + 1 not in states:
                states.add(p + 1)
                pending.append(p + 1)
        return states

    def matches(self, rel: str, *, or_above: bool = False) -> bool:
        """Whether the folder `rel` ("" for the root) matches; with `or_above`, whether
        it or any folder above it does."""
        end = len(self.parts)
        states = self._closure({0})
        for segment in rel.split("/") if rel else []:
            if or_above and end in states:
                return True
            step: set[int] = set()
            for p in states:
                part = self.parts[p] if p < end else ()
                if part is None:
                    step.add(p)
                elif p < end and _segment_matches(part, segment):
                    step.add(p + 1)
            if not step:
                return False
            states = self._closure(step)
        return end in states


@dataclass(frozen=True)
class PathFilter:
    """Compiled `include`/`exclude` globs; empty lists filter nothing."""

    include: tuple[Glob, ...] = ()
    exclude: tuple[Glob, ...] = ()

    @classmethod
    def of(cls, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> PathFilter:
        """Compile patterns already checked by `normalise_globs`."""
        return cls(tuple(map(Glob.of, include)), tuple(map(Glob.of, exclude)))

    def excluded(self, rel: str) -> bool:
        """Whether the folder `rel` (not the root, "") matches an exclude glob itself.

        Its ancestors were checked on the way down: an excluded folder is never entered.
        """
        return bool(rel) and any(glob.matches(rel) for glob in self.exclude)

    def included(self, rel: str) -> bool:
        """Whether a skill at `rel` is under (or is) a folder an include glob matches."""
        if not self.include:
            return True
        return any(glob.matches(rel, or_above=True) for glob in self.include)
