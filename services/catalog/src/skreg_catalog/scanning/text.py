"""One text file as the checks see it: its kind, its lines, and where a match sits.

Context decides severity: the same `curl … | sh` is an install line in a README, a
quoted example in a security-audit skill, and a dropper in a script. `FileText`
answers the questions the checks ask: is this instructions or code, which line is
offset N on, is that line inside a Markdown code fence, an HTML comment (invisible once
rendered), or a passage that discusses attacks rather than performs them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cached_property

from skreg_catalog.scanning.ruleset import FastPattern, ascii_lower

INSTRUCTION_SUFFIXES = (".md", ".markdown", ".mdx", ".txt", ".rst", ".adoc")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}\s")
_DISCUSSION_WINDOW = 8  # lines above a match that may say "this is what attacks look like"
_HEADING_REACH = 400  # lines searched upwards for the section's heading
EXCERPT_CHARS = 160


def file_kind(path: str) -> str:
    """`instructions` for Markdown and text (what the agent reads), else `code`."""
    return "instructions" if path.lower().endswith(INSTRUCTION_SUFFIXES) else "code"


def excerpt(text: str) -> str:
    """A printable, bounded excerpt: invisible and control characters escaped."""
    clipped = text.strip()[:EXCERPT_CHARS]
    out = []
    for char in clipped:
        if char.isprintable() and not (0x200B <= ord(char) <= 0x206F or ord(char) >= 0xE0000):
            out.append(char)
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)[: EXCERPT_CHARS * 2]


class FileText:
    """A decoded text file with line lookup and the context flags of each line."""

    def __init__(
        self, path: str, text: str, discussion: FastPattern, pattern_line: FastPattern
    ) -> None:
        self.path = path
        self.text = text
        self.lowered = ascii_lower(text)  # what case-insensitive patterns run over
        self.kind = file_kind(path)
        self._discussion = discussion
        self._pattern_line = pattern_line
        starts = [0]
        find = text.find
        at = find("\n")
        while at != -1:
            starts.append(at + 1)
            at = find("\n", at + 1)
        self.line_starts = starts

    @property
    def is_doc(self) -> bool:
        return self.kind == "instructions"

    def line_of(self, offset: int) -> int:
        """The 1-based line number of character `offset`."""
        return bisect_right(self.line_starts, offset)

    def span(self, number: int) -> tuple[int, int]:
        """Start and end offsets of line `number` (without its newline)."""
        start = self.line_starts[number - 1]
        end = self.line_starts[number] - 1 if number < len(self.line_starts) else len(self.text)
        return start, end

    def line(self, number: int, limit: int = 4096) -> str:
        """Line `number`, at most `limit` characters of it: checks call this once per
        match, and one minified or hostile line can be megabytes long."""
        start, end = self.span(number)
        return self.text[start : min(end, start + limit)]

    def lowered_line(self, number: int, limit: int = 4096) -> str:
        start, end = self.span(number)
        return self.lowered[start : min(end, start + limit)]

    @cached_property
    def _fenced(self) -> frozenset[int]:
        """Lines inside Markdown code fences (fence lines included)."""
        if not self.is_doc:
            return frozenset()
        inside: set[int] = set()
        fence: str | None = None
        for number in range(1, len(self.line_starts) + 1):
            match = _FENCE.match(self.line(number)[:64])
            if fence is None and match:
                fence = match.group(1)[0] * 3
                inside.add(number)
            elif fence is not None:
                inside.add(number)
                if match and match.group(1).startswith(fence):
                    fence = None
        return frozenset(inside)

    @cached_property
    def _comment_spans(self) -> tuple[tuple[int, int], ...]:
        """Character spans of HTML comments in Markdown (hidden when rendered)."""
        if not self.is_doc:
            return ()
        spans: list[tuple[int, int]] = []
        at = self.text.find("<!--")
        while at != -1 and len(spans) < 10_000:
            end = self.text.find("-->", at + 4)
            stop = len(self.text) if end == -1 else end + 3
            spans.append((at, stop))
            at = self.text.find("<!--", stop)
        return tuple(spans)

    def comments(self) -> tuple[tuple[int, int], ...]:
        return self._comment_spans

    def in_comment(self, offset: int) -> bool:
        return any(start <= offset < end for start, end in self._comment_spans)

    def in_fence(self, number: int) -> bool:
        return number in self._fenced

    def discusses(self, number: int) -> bool:
        """Whether line `number` quotes a pattern rather than instructs or runs it.

        Markdown: a detection/attack word on the line, in the few lines above it, or in
        the heading of its section. Code: the line builds a detection pattern (a regex,
        a rule list) or says what it detects.
        """
        current = self.lowered_line(number)
        if self._discussion.search(current):
            return True
        if not self.is_doc:
            return bool(self._pattern_line.search(current))
        for above in range(number - 1, max(0, number - _DISCUSSION_WINDOW) - 1, -1):
            if above < 1:
                break
            if self._discussion.search(self.lowered_line(above)):
                return True
        for above in range(number - 1, max(0, number - _HEADING_REACH), -1):
            text = self.lowered_line(above, 512)
            if _HEADING.match(text) and not self.in_fence(above):
                return bool(self._discussion.search(text))
        return False
