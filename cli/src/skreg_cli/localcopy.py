"""Installed copies of a skill on disk: their state, atomic replacement, removal.

A copy is "intact" when the canonical digest of its files (the same manifest
digest the registry computes, via `skreg_proto.bundle`) equals the digest the
lockfile recorded; anything else there is a local modification and is never
overwritten or deleted without `--force`.
"""

from __future__ import annotations

import enum
import os
import secrets
import shutil
from pathlib import Path

from skreg_proto.bundle import Bundle, extract_bundle, pack_directory, read_bundle
from skreg_proto.problems import FormatError


class CopyState(enum.Enum):
    """What is at an install location compared to what we expect there."""

    MISSING = "missing"
    INTACT = "intact"  # exactly the expected digest
    MODIFIED = "modified"  # something else: edited, extra files, a link, not a skill


def digest_of(path: Path) -> str | None:
    """The canonical digest of the skill directory at `path`; None if it is not a clean skill.

    Uses the bundle rules themselves (no links, no special files, limits), so a
    copy someone turned into a symlink or filled with extra files never counts
    as intact.
    """
    if path.is_symlink() or not path.is_dir():
        return None
    try:
        return read_bundle(pack_directory(path)).digest
    except (FormatError, OSError):
        return None


def state_of(path: Path, expected: str | None) -> CopyState:
    """MISSING, INTACT (digest == `expected`) or MODIFIED."""
    if not os.path.lexists(path):
        return CopyState.MISSING
    if expected is not None and digest_of(path) == expected:
        return CopyState.INTACT
    return CopyState.MODIFIED


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def replace_with(bundle: Bundle, target: Path) -> None:
    """Put the bundle's files at `target`, replacing whatever is there, all or nothing.

    The files are unpacked (with the server's rules: no escapes, no links,
    exec bit only) into a fresh hidden directory beside `target`, on the same
    filesystem, then renamed into place: readers see the old copy or the new
    one, never half of either. The old copy is moved aside first and put back
    if the final rename fails.
    """
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(6)
    staging = parent / f".{target.name}.skreg-new-{token}"
    aside = parent / f".{target.name}.skreg-old-{token}"
    try:
        extract_bundle(bundle, staging)
        had_old = os.path.lexists(target)
        if had_old:
            os.rename(target, aside)
        try:
            os.rename(staging, target)
        except BaseException:
            if had_old:
                os.rename(aside, target)
            raise
    finally:
        if os.path.lexists(staging):
            _remove_path(staging)
    if os.path.lexists(aside):
        _remove_path(aside)


def remove(target: Path) -> None:
    """Remove an installed copy (moved aside first, so a half-deleted copy is never visible)."""
    if not os.path.lexists(target):
        return
    aside = target.parent / f".{target.name}.skreg-old-{secrets.token_hex(6)}"
    os.rename(target, aside)
    _remove_path(aside)
