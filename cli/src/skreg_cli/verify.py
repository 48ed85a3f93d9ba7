"""`skreg verify`: is what is installed still exactly what skreg.lock says, and still signed?

For every locked skill, two sides are compared:

- **the disk**: each copy (one per agent directory) against the locked digest; a copy
  that differs is compared file by file with the version's manifest, so the report
  names each modified, missing and added file;
- **the registry** (unless `--offline`): the version still exists and is visible
  (not held for review, deleted or hidden), is not yanked, still has the locked
  digest, and its signature still verifies over that digest with the key the lock
  recorded (`skreg_cli.signatures`). The manifest used for the file-by-file report is
  the registry's, accepted only when it hashes to the locked digest.

Nothing is written. Every drift is reported; the exit code is INTEGRITY when a
digest or signature no longer matches, FAILED for any other drift, OK when none.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from skreg_proto.digest import FileEntry, compute_digest, normalise_mode

from skreg_cli import registry
from skreg_cli.context import AppContext
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.localcopy import CopyState, state_of
from skreg_cli.lockfile import LockedSkill, Lockfile, Scope
from skreg_cli.plan import copies_for
from skreg_cli.signatures import SignatureChecker
from skreg_cli.views import FileView

# Integrity drifts: the bytes or the signature no longer match what was locked.
INTEGRITY_KINDS = frozenset({"digest", "signature", "key"})


@dataclass(frozen=True)
class Drift:
    """One difference from the lock: its kind and what exactly differs."""

    kind: str  # modified, missing, added, yanked, unavailable, digest, signature, key
    detail: str

    @property
    def integrity(self) -> bool:
        """A digest or signature problem (as opposed to a local edit or a yank)."""
        return self.kind in INTEGRITY_KINDS


@dataclass
class SkillCheck:
    """The verification of one locked skill."""

    key: str
    entry: LockedSkill
    drifts: list[Drift] = field(default_factory=list)
    keyid: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """For --json output."""
        return {
            "name": self.key,
            "version": self.entry.version,
            "digest": self.entry.digest,
            "keyid": self.keyid,
            "ok": not self.drifts,
            "drifts": [{"kind": d.kind, "detail": d.detail} for d in self.drifts],
            "notes": self.notes,
        }


class Verifier:
    """Checks every skill of one lockfile (see the module docstring)."""

    def __init__(self, app: AppContext, scope: Scope, *, offline: bool) -> None:
        self.app = app
        self.scope = scope
        self.offline = offline
        self.signatures = SignatureChecker(app.config_dir, app.output)

    def run(self, lock: Lockfile) -> list[SkillCheck]:
        """One check per locked skill, in name order."""
        return [self._check(key, entry) for key, entry in sorted(lock.skills.items())]

    def _check(self, key: str, entry: LockedSkill) -> SkillCheck:
        check = SkillCheck(key, entry)
        manifest = None
        if isinstance(entry.index, str):
            check.notes.append("from a discovery index: not signed by a registry")
        elif self.offline:
            check.notes.append("--offline: the registry was not asked")
        else:
            manifest = self._against_registry(check)
        name = key.split("/", 1)[1]
        for copy in copies_for(self.scope, name, entry.agents):
            state = state_of(copy.path, entry.digest)
            if state is CopyState.MISSING:
                check.drifts.append(Drift("missing", f"{copy.shown} is missing"))
            elif state is CopyState.MODIFIED:
                check.drifts.extend(_copy_drifts(copy.path, copy.shown, manifest))
        return check

    def _against_registry(self, check: SkillCheck) -> list[FileView] | None:
        """Registry-side drifts; the version's manifest when it hashes to the locked digest."""
        entry = check.entry
        namespace, name = check.key.split("/", 1)
        label = f"{check.key}@{entry.version}"
        client = self.app.client(entry.registry)
        try:
            meta = registry.get_version(client, namespace, name, entry.version)
        except CliError as exc:
            if exc.code not in (ExitCode.NOT_FOUND, ExitCode.FORBIDDEN):
                raise
            check.drifts.append(
                Drift(
                    "unavailable",
                    f"{label} is no longer available from the registry "
                    "(held for review, deleted or hidden since install)",
                )
            )
            return None
        if meta.yanked:
            reason = f": {meta.yank_reason}" if meta.yank_reason else ""
            check.drifts.append(Drift("yanked", f"{label} was yanked since install{reason}"))
        if meta.digest != entry.digest:
            check.drifts.append(
                Drift("digest", f"{label}: locked {entry.digest}, the registry has {meta.digest}")
            )
        try:
            signed = self.signatures.check(client, namespace, name, entry.version, entry.digest)
        except CliError as exc:
            if exc.code is not ExitCode.INTEGRITY:
                raise
            check.drifts.append(Drift("signature", exc.message))
        else:
            locked = entry.keyid if isinstance(entry.keyid, str) else None
            check.keyid = signed.keyid if signed else None
            if locked and signed is None:
                check.drifts.append(Drift("signature", f"{label}: no signature any more"))
            elif locked and signed and signed.keyid != locked:
                check.drifts.append(
                    Drift("key", f"{label}: signed by key {signed.keyid}, locked {locked}")
                )
        return meta.files if _manifest_digest(meta.files) == entry.digest else None


def _manifest_digest(files: list[FileView]) -> str | None:
    if not files:
        return None
    entries = [FileEntry(path=f.path, size=f.size, mode=f.mode, sha256=f.sha256) for f in files]
    return compute_digest(entries)


def _copy_drifts(path: Path, shown: str, manifest: list[FileView] | None) -> list[Drift]:
    """What differs in a modified copy, file by file when the manifest is known."""
    if path.is_symlink() or not path.is_dir():
        return [Drift("modified", f"{shown} is not a directory skreg installed")]
    if manifest is None:
        return [Drift("modified", f"{shown} differs from the locked digest")]
    expected = {f.path: f for f in manifest}
    found = _local_files(path)
    drifts: list[Drift] = []
    for relative in sorted(expected.keys() | found.keys()):
        where = f"{shown}/{relative}"
        want, have = expected.get(relative), found.get(relative)
        if have is None:
            drifts.append(Drift("missing", f"file missing: {where}"))
        elif want is None:
            drifts.append(Drift("added", f"file added: {where}"))
        elif have != (want.sha256, want.mode):
            drifts.append(Drift("modified", f"file modified: {where}"))
    return drifts or [Drift("modified", f"{shown} differs from the locked digest")]


def _local_files(root: Path) -> dict[str, tuple[str, int]]:
    """relative path -> (sha256 hex, normalised mode); a link or special file gets an
    empty hash, which never matches the manifest."""
    files: dict[str, tuple[str, int]] = {}
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory)
        for entry in [*filenames, *(d for d in dirnames if (base / d).is_symlink())]:
            full = base / entry
            relative = full.relative_to(root).as_posix()
            info = full.lstat()
            if not stat.S_ISREG(info.st_mode):
                files[relative] = ("", 0)  # a link or special file: never what was installed
                continue
            digest = hashlib.sha256(full.read_bytes()).hexdigest()
            files[relative] = (digest, normalise_mode(bool(info.st_mode & stat.S_IXUSR)))
    return files
