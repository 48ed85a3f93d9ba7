"""The problem shapes: one field-level problem, and RFC 9457 problem+json."""

from __future__ import annotations

import msgspec


class FieldProblem(msgspec.Struct, frozen=True):
    """One thing wrong with an input, located by a path (`frontmatter.name`, `scripts/x.sh`)."""

    path: str
    message: str


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 `application/problem+json` body.

    `errors` lists every validation problem at once, never just the first.
    """

    title: str
    status: int
    type: str = "about:blank"
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] = msgspec.field(default_factory=list)
    request_id: str | None = None


class FormatError(Exception):
    """Input that breaks the skill format; carries every problem found."""

    def __init__(self, problems: list[FieldProblem], detail: str | None = None) -> None:
        self.problems = problems
        self.detail = detail or (
            problems[0].message if len(problems) == 1 else f"{len(problems)} problems found"
        )
        super().__init__(self.detail)
