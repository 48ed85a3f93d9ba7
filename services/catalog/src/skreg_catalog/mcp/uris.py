"""`skill://` URIs: one file of a skill's latest version, or of an exact version.

- `skill://<namespace>/<name>/<path>`: the latest version (what `latest` resolves to over
  HTTP: yanked versions never). This is the form the MCP skills extension requires: the
  segment before the file path is the skill's `name`.
- `skill://<namespace>/<name>@<version>/<path>`: that exact version (a yanked one too, as
  an exact download over HTTP is; deleted ones never).

Parsing is strict and bounded: anything else is `InvalidSkillUri`, which the server
answers with JSON-RPC "invalid params", never a crash or a lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from skreg_proto.semver import parse_version

SCHEME = "skill://"
LATEST = "latest"
SKILL_MD = "SKILL.md"
MAX_URI_LENGTH = 2048
# The catalog's namespace and skill-name shapes (publishing.validate, skreg_proto.skillmd).
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9_-]{0,38}")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_VERSION = re.compile(r"[0-9A-Za-z.+-]{1,128}")

LATEST_TEMPLATE = "skill://{namespace}/{name}/{+path}"
EXACT_TEMPLATE = "skill://{namespace}/{name}@{version}/{+path}"


class InvalidSkillUri(ValueError):
    """The URI is not a `skill://` URI this registry serves."""


@dataclass(frozen=True)
class SkillUri:
    """One file of one skill: `version` is `latest` or an exact version."""

    namespace: str
    name: str
    version: str
    path: str

    @property
    def skill(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        at = "" if self.version == LATEST else f"@{self.version}"
        return f"{SCHEME}{self.namespace}/{self.name}{at}/{quote(self.path, safe='/')}"


def file_uri(namespace: str, name: str, path: str, version: str = LATEST) -> str:
    """The URI of `path` in that version of the skill."""
    return str(SkillUri(namespace, name, version, path))


def parse_skill_name(text: str) -> tuple[str, str]:
    """`namespace/name` split and checked; `InvalidSkillUri` otherwise."""
    namespace, _, name = text.partition("/")
    if not _NAMESPACE.fullmatch(namespace) or not _NAME.fullmatch(name):
        raise InvalidSkillUri(f"{text!r} is not namespace/name")
    return namespace, name


def parse_skill_uri(uri: str) -> SkillUri:
    """The parts of a `skill://` URI; `InvalidSkillUri` for anything malformed or hostile."""
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidSkillUri(f"a skill:// URI is at most {MAX_URI_LENGTH} characters")
    if not uri.startswith(SCHEME):
        raise InvalidSkillUri("not a skill:// URI")
    if "?" in uri or "#" in uri:
        raise InvalidSkillUri("skill:// URIs take no query or fragment")
    namespace, _, rest = uri[len(SCHEME) :].partition("/")
    skill, _, raw_path = rest.partition("/")
    name, at, version = skill.partition("@")
    if not _NAMESPACE.fullmatch(namespace):
        raise InvalidSkillUri(f"{namespace!r} is not a namespace")
    if not _NAME.fullmatch(name):
        raise InvalidSkillUri(f"{name!r} is not a skill name")
    if at:
        if not _VERSION.fullmatch(version) or version == LATEST:
            raise InvalidSkillUri(f"{version!r} is not a version")
        try:
            parse_version(version)
        except ValueError as exc:
            raise InvalidSkillUri(f"{version!r} is not a version") from exc
    return SkillUri(namespace, name, version if at else LATEST, _file_path(raw_path))


def _file_path(raw: str) -> str:
    try:
        path = unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidSkillUri("the file path is not UTF-8") from exc
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") for part in parts):
        raise InvalidSkillUri("the file path must be relative, without empty, . or .. segments")
    if any(ord(ch) < 0x20 or ch in "\x7f\\" for ch in path):
        raise InvalidSkillUri("the file path contains control characters or backslashes")
    return path
