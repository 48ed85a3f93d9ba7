"""`skreg list`: installed versus latest, with outdated, yanked, modified and missing marks."""

from __future__ import annotations

from dataclasses import dataclass, field

from skreg_proto.semver import parse_version

from skreg_cli import registry, wellknown
from skreg_cli.client import ApiClient
from skreg_cli.context import AppContext
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.localcopy import CopyState, state_of
from skreg_cli.lockfile import LockedSkill, Lockfile, Scope, origin_version
from skreg_cli.origins import origin_client
from skreg_cli.plan import copies_for


@dataclass
class SkillStatus:
    """One lockfile entry compared with the disk and (unless offline) the registry."""

    name: str
    entry: LockedSkill
    copies: dict[str, str]  # shown path -> CopyState value
    latest: str | None = None
    yanked: bool | None = None
    marks: list[str] = field(default_factory=list)
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        """For --json output."""
        return {
            "name": self.name,
            "version": self.entry.version,
            "requested": self.entry.requested,
            "digest": self.entry.digest,
            "latest": self.latest,
            "yanked": self.yanked,
            "agents": self.entry.agents,
            "copies": self.copies,
            "marks": self.marks,
            "error": self.error,
        }


def collect(app: AppContext, scope: Scope, lock: Lockfile, *, offline: bool) -> list[SkillStatus]:
    """The status of every locked skill."""
    return [
        _status(app, scope, key, entry, offline=offline)
        for key, entry in sorted(lock.skills.items())
    ]


def _status(
    app: AppContext, scope: Scope, key: str, entry: LockedSkill, *, offline: bool
) -> SkillStatus:
    namespace, name = key.split("/", 1)
    copies = {
        c.shown: state_of(c.path, entry.digest) for c in copies_for(scope, name, entry.agents)
    }
    status = SkillStatus(key, entry, {shown: state.value for shown, state in copies.items()})
    if not offline and isinstance(entry.index, str):
        _compare_with_index(app, status, entry.index, name)
    elif not offline:
        _compare_with_registry(app, status, namespace, name)
    if any(state is CopyState.MODIFIED for state in copies.values()):
        status.marks.append("modified")
    if any(state is CopyState.MISSING for state in copies.values()):
        status.marks.append("missing")
    return status


def _compare_with_index(app: AppContext, status: SkillStatus, index_url: str, name: str) -> None:
    """A skill from another origin's index: outdated when the index names another archive."""
    with origin_client(index_url, app.output) as client:
        found = wellknown.discover(client, index_url, app.output)
    listed = found.entries.get(name)
    if listed is None:
        status.error = "no longer in its index"
        status.marks.append("gone")
        return
    status.latest = origin_version(listed.digest)
    if listed.digest != status.entry.archive_digest:
        status.marks.append("outdated")


def _compare_with_registry(app: AppContext, status: SkillStatus, namespace: str, name: str) -> None:
    client = app.client(status.entry.registry)
    try:
        latest = registry.find_latest(client, namespace, name)  # resolved by the registry
    except CliError as exc:
        if exc.code is not ExitCode.NOT_FOUND:
            raise
        status.error = "no longer in the registry"
        status.marks.append("gone")
        return
    status.latest = latest.version if latest else None
    if latest is not None and latest.version == status.entry.version:
        status.yanked = latest.yanked
    else:
        status.yanked = _yanked(client, namespace, name, status.entry.version)
    if latest and parse_version(latest.version) > parse_version(status.entry.version):
        status.marks.append("outdated")
    if status.yanked:
        status.marks.append("yanked")


def _yanked(client: ApiClient, namespace: str, name: str, version: str) -> bool | None:
    """Whether the installed version is yanked now (None: the registry no longer has it)."""
    try:
        return registry.get_version(client, namespace, name, version).yanked
    except CliError as exc:
        if exc.code is not ExitCode.NOT_FOUND:
            raise
        return None
