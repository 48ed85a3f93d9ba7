"""Versions from Git tags on the imported commit (SKILL_FORMAT.md, Versions).

A tag naming the skill wins (the monorepo forms `<name>@1.4.0`, `<name>@v1.4.0`,
`<name>-v1.4.0`); else a plain `v1.4.0` or `1.4.0` tag applies to every skill at that
commit. Among several candidates of one kind the highest version wins. Tags that are
not semver are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from skreg_proto.semver import Version, parse_version

MAX_VERSION_LENGTH = 128  # the catalog's version column: a longer tag is no version


@dataclass(frozen=True)
class TagVersion:
    """A version and the tag it was read from."""

    version: str
    tag: str


def _semver(text: str) -> Version | None:
    text = text.removeprefix("v")
    if not text or len(text) > MAX_VERSION_LENGTH or not text[0].isdigit():
        return None
    try:
        return parse_version(text)
    except ValueError:
        return None


def _best(candidates: Iterable[tuple[Version, str]]) -> TagVersion | None:
    best: tuple[Version, str] | None = None
    for version, tag in candidates:
        if best is None or version > best[0] or (version == best[0] and tag < best[1]):
            best = (version, tag)
    return None if best is None else TagVersion(str(best[0]), best[1])


def version_for(name: str, tags: Iterable[str]) -> TagVersion | None:
    """The version the commit's tags give the skill `name`, if any."""
    named: list[tuple[Version, str]] = []
    plain: list[tuple[Version, str]] = []
    for tag in tags:
        for prefix in (f"{name}@", f"{name}-v"):
            if tag.startswith(prefix):
                parsed = _semver(tag.removeprefix(prefix))
                if parsed is not None:
                    named.append((parsed, tag))
        parsed = _semver(tag)
        if parsed is not None:
            plain.append((parsed, tag))
    return _best(named) or _best(plain)
