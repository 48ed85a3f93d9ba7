"""Semantic versions (semver 2.0.0) and the small range language the CLI uses.

Versions follow the official grammar exactly: no leading `v`, no partial
versions, no leading zeros in numbers or numeric pre-release identifiers.

Ranges are a comma-separated AND of terms (`>=1.0.0,<2.0.0`); a term is `*`
or `latest` (anything), an exact version (`1.2.3`, `=1.2.3`), a comparison
(`>`, `>=`, `<`, `<=`), a caret (`^1.2.3` = `>=1.2.3,<2.0.0`; `^0.2.3` =
`>=0.2.3,<0.3.0`) or a tilde (`~1.2.3` = `>=1.2.3,<1.3.0`). Partial versions
(`1`, `1.2`, `1.x`) stand for every version they name: `1.2` = `>=1.2.0,<1.3.0`,
`^1` = `>=1.0.0,<2.0.0`, `>1.2` = `>=1.3.0`, `<=1` = `<2.0.0`. As in npm, a
pre-release only matches when a term names a pre-release of the same
`major.minor.patch`, so `^1.0.0` never picks `1.1.0-beta`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

_NUMBER = r"0|[1-9][0-9]*"
_PRE_ID = r"0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*"
_BUILD_ID = r"[0-9a-zA-Z-]+"
# The grammar from semver.org, ASCII digits only.
_VERSION = re.compile(
    rf"(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?",
    re.ASCII,
)
_PARTIAL = re.compile(rf"(?:{_NUMBER}|[xX*])(?:\.(?:{_NUMBER}|[xX*])){{0,2}}", re.ASCII)
# Semver sets no limit; a registry needs one (and int() refuses > 4300 digits).
MAX_VERSION_LENGTH = 256
_OPERATORS = (">=", "<=", ">", "<", "=", "^", "~")
_WILDCARDS = ("x", "X", "*")
_COMPARE: dict[str, Callable[[Version, Version], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True, eq=False, slots=True)
class Version:
    """A parsed semver 2.0.0 version; build it with `parse_version`.

    Equality, hashing and ordering all follow semver precedence, so build
    metadata is ignored by all three: `1.0.0+a == 1.0.0+b` (compare `str()`
    for the exact text). `str()` gives back the parsed text.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def is_prerelease(self) -> bool:
        """True for versions with a pre-release part (`1.0.0-rc.1`)."""
        return bool(self.prerelease)

    @property
    def core(self) -> tuple[int, int, int]:
        """`(major, minor, patch)`."""
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[Any, ...]:
        # A release outranks all its pre-releases; numeric identifiers rank
        # below alphanumeric ones; a longer list wins when the prefix is equal.
        if not self.prerelease:
            return (*self.core, (1,))
        ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in self.prerelease)
        return (*self.core, (0, *ids))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() >= other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _why_invalid(text: str) -> str:
    if text[:1] in ("v", "V"):
        return "drop the leading 'v'"
    core = re.split(r"[-+]", text, maxsplit=1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return "expected three numbers MAJOR.MINOR.PATCH, e.g. 1.2.3"
    if any(len(p) > 1 and p.startswith("0") for p in parts):
        return "numbers must not have leading zeros"
    return (
        "pre-release and build parts are dot-separated non-empty [0-9A-Za-z-] identifiers, "
        "numeric pre-release identifiers without leading zeros"
    )


def parse_version(text: str) -> Version:
    """Parse a semver 2.0.0 string; raises `ValueError` saying what is wrong."""
    if len(text) > MAX_VERSION_LENGTH:
        raise ValueError(f"invalid version: longer than {MAX_VERSION_LENGTH} characters")
    match = _VERSION.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid version {text!r}: {_why_invalid(text)}")
    pre, build = match["pre"], match["build"]
    return Version(
        int(match["major"]),
        int(match["minor"]),
        int(match["patch"]),
        tuple(pre.split(".")) if pre else (),
        tuple(build.split(".")) if build else (),
    )


def _as_version(version: Version | str) -> Version:
    return version if isinstance(version, Version) else parse_version(version)


def is_prerelease(version: Version | str) -> bool:
    """True when `version` has a pre-release part."""
    return _as_version(version).is_prerelease


def latest(versions: Iterable[tuple[Version | str, bool]]) -> Version | None:
    """The highest non-prerelease, non-yanked version of `(version, yanked)` pairs."""
    released = (_as_version(v) for v, yanked in versions if not yanked)
    return max((v for v in released if not v.is_prerelease), default=None)


@dataclass(frozen=True, slots=True)
class Comparator:
    """One bound: `op` is one of `=`, `<`, `<=`, `>`, `>=`."""

    op: str
    version: Version

    def matches(self, version: Version) -> bool:
        """Whether `version` satisfies this bound (precedence only)."""
        return _COMPARE[self.op](version, self.version)

    def __str__(self) -> str:
        return f"{self.op}{self.version}"


@dataclass(frozen=True, slots=True)
class Range:
    """A set of versions: the AND of its comparators (none means any version)."""

    comparators: tuple[Comparator, ...]

    @property
    def is_exact(self) -> bool:
        """True for a pin to one version (`1.2.3`, `=1.2.3`)."""
        return len(self.comparators) == 1 and self.comparators[0].op == "="

    def matches(self, version: Version | str) -> bool:
        """Whether `version` is in the range (see the module docstring for pre-releases)."""
        version = _as_version(version)
        if not all(c.matches(version) for c in self.comparators):
            return False
        if not version.is_prerelease:
            return True
        return any(
            c.version.is_prerelease and c.version.core == version.core for c in self.comparators
        )

    def __str__(self) -> str:
        return ",".join(map(str, self.comparators)) or "*"


def _bump(parts: list[int], index: int) -> Version:
    """The first version past `parts` at precision `index` (0 major, 1 minor, 2 patch)."""
    return _padded([*parts[:index], parts[index] + 1])


def _padded(parts: list[int]) -> Version:
    """`[1]` -> 1.0.0, `[1, 2]` -> 1.2.0."""
    major, minor, patch = parts + [0] * (3 - len(parts))
    return Version(major, minor, patch)


def _upper(op: str, parts: list[int]) -> Version:
    """Exclusive upper bound of `^`, `~` or a bare (partial) version."""
    index = len(parts) - 1
    if op == "^":
        index = next((i for i, part in enumerate(parts) if part), index)
    elif op == "~":
        index = min(index, 1)
    return _bump(parts, index)


def _partial_term(op: str, parts: list[int], term: str) -> list[Comparator]:
    if not parts:
        if op in (">", "<"):
            raise ValueError(f"range term {term!r} matches nothing")
        return []
    floor = _padded(parts)
    if op in (">=", "<"):
        return [Comparator(op, floor)]
    if op == ">":
        return [Comparator(">=", _bump(parts, len(parts) - 1))]
    if op == "<=":
        return [Comparator("<", _bump(parts, len(parts) - 1))]
    return [Comparator(">=", floor), Comparator("<", _upper(op, parts))]


def _term(term: str) -> list[Comparator]:
    op = next((o for o in _OPERATORS if term.startswith(o)), "")
    text = term[len(op) :].strip()
    if _VERSION.fullmatch(text):
        version = parse_version(text)
        if op in ("^", "~"):
            return [Comparator(">=", version), Comparator("<", _upper(op, [*version.core]))]
        return [Comparator(op or "=", version)]
    if not _PARTIAL.fullmatch(text):
        raise ValueError(
            f"invalid range term {term!r}: expected a version like 1.2.3, 1.2 or 1.x, "
            "optionally after one of >=, <=, >, <, =, ^, ~"
        )
    parts = text.split(".")
    wildcard = next((i for i, p in enumerate(parts) if p in _WILDCARDS), len(parts))
    if any(p not in _WILDCARDS for p in parts[wildcard:]):
        raise ValueError(f"invalid range term {term!r}: nothing may follow a wildcard")
    return _partial_term(op or "=", [int(p) for p in parts[:wildcard]], term)


def parse_range(text: str) -> Range:
    """Parse a range (see the module docstring); raises `ValueError`."""
    terms = [term.strip() for term in text.split(",")]
    if any(not term for term in terms):
        raise ValueError(f"invalid range {text!r}: empty term")
    comparators: list[Comparator] = []
    for term in terms:
        if term not in ("*", "latest"):
            comparators += _term(term)
    return Range(tuple(comparators))


def best_match(
    range_: Range | str, versions: Iterable[tuple[Version | str, bool]]
) -> Version | None:
    """The highest non-yanked version of `(version, yanked)` pairs in the range.

    A yanked version is only chosen by an exact pin with nothing else matching
    (yanked versions stay installable by exact version, as in PEP 592).
    """
    range_ = parse_range(range_) if isinstance(range_, str) else range_
    matching = [
        (v, yanked) for v, yanked in ((_as_version(v), y) for v, y in versions) if range_.matches(v)
    ]
    best = max((v for v, yanked in matching if not yanked), default=None)
    if best is None and range_.is_exact:
        best = max((v for v, _ in matching), default=None)
    return best
