"""A source's path filters: `include` and `exclude` globs over skill folder paths.

Paths are relative to the repository root and `/`-separated (the `path` a run's results
show). `*` and `?` stay within one path segment, `[...]` is a character class, and `**`
stands for any number of whole segments (`preview/**`, `**/drafts`). A folder matches
when it or any folder above it matches, so `preview` and `preview/**` both cover
everything under `preview/`. Excluded folders are never entered; with `include` set,
only skills under a matching folder are imported. Dot folders are ordinary folders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from skreg_proto.problems import FieldProblem

_SEGMENT_ANY = "(?:[^/]+/)*"


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


def _segment(part: str) -> str:
    out, index = [], 0
    while index < len(part):
        char = part[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and "]" in part[index + 1 :]:
            close = part.index("]", index + 1)
            body = part[index + 1 : close]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append(f"[{'^' if negate else ''}{body}]")  # no "\\": refused above
            index = close
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _compile(pattern: str) -> re.Pattern[str]:
    # Every segment is followed by "/", and paths are matched with a trailing "/".
    parts = [_SEGMENT_ANY if part == "**" else f"{_segment(part)}/" for part in pattern.split("/")]
    return re.compile("".join(parts))


@dataclass(frozen=True)
class PathFilter:
    """Compiled `include`/`exclude` globs; empty lists filter nothing."""

    include: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def of(cls, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> PathFilter:
        """Compile patterns already checked by `normalise_globs`."""
        return cls(tuple(map(_compile, include)), tuple(map(_compile, exclude)))

    def excluded(self, rel: str) -> bool:
        """Whether the folder `rel` (not the root, "") matches an exclude glob itself.

        Its ancestors were checked on the way down: an excluded folder is never entered.
        """
        return bool(rel) and any(p.fullmatch(f"{rel}/") for p in self.exclude)

    def included(self, rel: str) -> bool:
        """Whether a skill at `rel` is under (or is) a folder an include glob matches."""
        if not self.include:
            return True
        parts = rel.split("/") if rel else []
        prefixes = [""] + ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
        return any(p.fullmatch(prefix) for p in self.include for prefix in prefixes)
