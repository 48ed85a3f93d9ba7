"""`skreg.lock`: exactly which version (and digest) of each installed skill, and where from.

The file is JSON written deterministically (sorted keys, sorted lists, two-space
indent, final newline), so installing the same things twice gives the same
bytes and diffs stay small. A project's lock lives at its root (the nearest
directory upwards holding a `skreg.lock`, else the current directory);
`--global` installs are tracked in the same format in the config directory.

A lockfile comes from a repository, so it is untrusted input: names are
checked like command-line names, and install locations are never read from it
(they follow from the agent ids through the agent table).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
from skreg_proto.semver import parse_range, parse_version

from skreg_cli import agents as agent_table
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.refs import parse_ref

LOCK_NAME = "skreg.lock"
LOCK_FORMAT = 1
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
KEYID = re.compile(r"[0-9a-f]{64}")


class LockedSkill(msgspec.Struct, kw_only=True):
    """One installed skill: the exact version and digest, its source, and for which agents."""

    version: str
    digest: str
    source: str  # the bundle's download URL
    registry: str  # the registry's base URL (API calls about this skill go there)
    requested: str = "latest"  # the version or range asked for; `skreg update` stays in it
    agents: list[str] = msgspec.field(default_factory=list)
    # Skills from another origin's discovery index (`skreg install https://…`): the index
    # URL and the sha256 of the archive it named. `version` is then that digest's first 12
    # hex digits (indexes carry no versions); absent (not written) for registry skills.
    index: str | msgspec.UnsetType = msgspec.UNSET
    archive_digest: str | msgspec.UnsetType = msgspec.UNSET
    # The registry key whose signature over `digest` skreg verified at install
    # (`skreg_cli.signatures`); absent for locks written before signing and for
    # registries that sign nothing. `skreg verify` and `install --frozen` hold to it.
    keyid: str | msgspec.UnsetType = msgspec.UNSET


class Lockfile(msgspec.Struct, kw_only=True):
    """The whole lockfile: `namespace/name -> LockedSkill`."""

    lockfile_version: int = LOCK_FORMAT
    skills: dict[str, LockedSkill] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class Scope:
    """Where installs go: a project root, or the home directory for `--global`."""

    root: Path
    lock_path: Path
    global_: bool

    def skills_dir(self, relative: str) -> Path:
        """A skills dir from the agent table (`.claude/skills` or `~/.claude/skills`)."""
        return self.root / relative.removeprefix("~/")

    def show(self, path: Path) -> str:
        """`path` as users see it: relative to the project, or `~/…`."""
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
        return f"~/{rel}" if self.global_ else rel


def project_root(start: Path) -> Path:
    """The nearest directory from `start` upwards holding a `skreg.lock`, else `start`."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / LOCK_NAME).is_file():
            return directory
    return start


def project_scope(start: Path) -> Scope:
    """The scope for project installs found from `start`."""
    root = project_root(start)
    return Scope(root, root / LOCK_NAME, global_=False)


def global_scope(config_dir: Path) -> Scope:
    """The scope for `--global` installs (user-level skills dirs under home)."""
    return Scope(Path.home(), config_dir / LOCK_NAME, global_=True)


def read(path: Path) -> Lockfile | None:
    """The lockfile at `path`, or None when there is none; every entry is checked."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        lock = msgspec.json.decode(raw, type=Lockfile)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CliError(f"{path} is not a valid skreg.lock: {exc}", code=ExitCode.FAILED) from exc
    if lock.lockfile_version != LOCK_FORMAT:
        raise CliError(
            f"{path} has format {lock.lockfile_version}; this skreg reads format {LOCK_FORMAT}",
            hint="upgrade skreg",
        )
    for key, entry in lock.skills.items():
        _check_entry(path, key, entry)
    return lock


def _check_entry(path: Path, key: str, entry: LockedSkill) -> None:
    try:
        parse_ref(key, allow_spec=False)
        if isinstance(entry.index, str):
            _check_origin_entry(entry)
        else:
            parse_version(entry.version)
        parse_range(entry.requested)
        problem = None
    except CliError as exc:
        problem = exc.message
    except ValueError as exc:
        problem = str(exc)
    if problem is None and not DIGEST.fullmatch(entry.digest):
        problem = f"digest {entry.digest!r} is not sha256:<64 hex digits>"
    if problem is None and isinstance(entry.keyid, str) and not KEYID.fullmatch(entry.keyid):
        problem = f"keyid {entry.keyid!r} is not 64 hex digits"
    if problem is None:
        urls = (entry.source, entry.registry, *([entry.index] if entry.index else []))
        problem = next((f"{u!r} is not an http(s) URL" for u in urls if not _is_http(u)), None)
    unknown = [agent for agent in entry.agents if agent not in agent_table.BY_ID]
    if problem is None and unknown:
        problem = f"unknown agents {', '.join(unknown)} (upgrade skreg?)"
    if problem is not None:
        raise CliError(f"{path}: entry {key!r}: {problem}", hint=f"fix or delete {LOCK_NAME}")


def _check_origin_entry(entry: LockedSkill) -> None:
    if not (isinstance(entry.archive_digest, str) and DIGEST.fullmatch(entry.archive_digest)):
        raise ValueError(f"archive digest {entry.archive_digest!r} is not sha256:<64 hex digits>")
    if entry.version != origin_version(entry.archive_digest):
        raise ValueError(f"version {entry.version!r} does not match the archive digest")


def origin_version(archive_digest: str) -> str:
    """What stands for the version of a skill from a discovery index (which has none)."""
    return archive_digest.removeprefix("sha256:")[:12]


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def dumps(lock: Lockfile) -> bytes:
    """The canonical bytes of a lockfile."""
    canonical = Lockfile(
        lockfile_version=lock.lockfile_version,
        skills={
            key: msgspec.structs.replace(entry, agents=sorted(set(entry.agents)))
            for key, entry in lock.skills.items()
        },
    )
    encoded = msgspec.json.encode(canonical, order="sorted")
    return msgspec.json.format(encoded, indent=2) + b"\n"


def write(path: Path, lock: Lockfile) -> None:
    """Replace the lockfile atomically (write beside it, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    try:
        temp.write_bytes(dumps(lock))
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def find(lock: Lockfile, name: str) -> str:
    """The lock key for `ns/name` or a bare `name` (when it is unambiguous)."""
    if "/" in name:
        key = parse_ref(name, allow_spec=False).full_name
        if key in lock.skills:
            return key
    else:
        matches = [key for key in lock.skills if key.split("/", 1)[1] == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise CliError(
                f"{name!r} is ambiguous: {', '.join(sorted(matches))}",
                hint="give the full NAMESPACE/NAME",
                code=ExitCode.USAGE,
            )
    raise CliError(
        f"{name} is not in {LOCK_NAME}",
        hint="see what is installed with `skreg list`",
        code=ExitCode.NOT_FOUND,
    )
