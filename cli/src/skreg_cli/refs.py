"""`NS/NAME[@VERSION|@RANGE]` references, checked before they reach a URL or a directory name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from skreg_proto.semver import parse_range

from skreg_cli.errors import CliError, ExitCode

# The SKILL.md name rule (SKILL_FORMAT.md): it becomes a directory name on disk,
# so nothing else (no '.', '/', leading '-') may get through.
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
NAME_MAX = 64
# Namespaces only ever appear in URLs (percent-encoded) and lockfile keys.
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
LATEST = "latest"


@dataclass(frozen=True)
class SkillRef:
    """An exact skill name, with the version or range asked for (None: latest)."""

    namespace: str
    name: str
    spec: str | None = None

    @property
    def full_name(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return self.full_name + (f"@{self.spec}" if self.spec else "")


def check_name(name: str) -> str:
    """`name` if it is a valid skill name, else a usage error."""
    if len(name) > NAME_MAX or not _NAME.fullmatch(name):
        raise CliError(
            f"invalid skill name {name!r}",
            hint="skill names are lowercase letters, digits and single '-' (e.g. pdf-tools)",
            code=ExitCode.USAGE,
        )
    return name


def parse_ref(text: str, *, allow_spec: bool = True) -> SkillRef:
    """Parse `ns/name`, `ns/name@1.2.3` or `ns/name@^1.2`; the name is never guessed."""
    full, at, spec = text.strip().partition("@")
    namespace, slash, name = full.partition("/")
    if not slash or not namespace or not name:
        raise CliError(
            f"expected NAMESPACE/NAME, got {text!r}",
            hint="find the full name with `skreg search`",
            code=ExitCode.USAGE,
        )
    if not _NAMESPACE.fullmatch(namespace) or ".." in namespace:
        raise CliError(f"invalid namespace {namespace!r}", code=ExitCode.USAGE)
    check_name(name)
    if at and not allow_spec:
        raise CliError(f"give the name without a version: {full}", code=ExitCode.USAGE)
    spec = spec.strip()
    if at and not spec:
        raise CliError(f"empty version after '@' in {text!r}", code=ExitCode.USAGE)
    ref = SkillRef(namespace, name, spec or None)
    if spec:
        try:
            parse_range(spec)
        except ValueError as exc:
            raise CliError(str(exc), code=ExitCode.USAGE) from exc
    return ref
