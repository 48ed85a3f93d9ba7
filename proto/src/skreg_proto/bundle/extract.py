"""Writing a bundle's files into an empty directory, refusing anything that would escape it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from skreg_proto.bundle.model import Bundle
from skreg_proto.bundle.model import fail as _problem
from skreg_proto.bundle_limits import check_for_extraction


def extract_bundle(bundle: Bundle, dest: Path) -> None:
    """Write the bundle's files under `dest`, which must be empty or not exist.

    Nothing is written unless every path passes the bundle rules; each target
    is checked to resolve inside `dest` and created with `O_EXCL|O_NOFOLLOW`,
    keeping the executable bit. On failure whatever was written is removed.
    """
    files = check_for_extraction(bundle.files, bundle.manifest)
    dest = Path(dest)
    created = not os.path.lexists(dest)
    if created:
        dest.mkdir(parents=True)
    elif not dest.is_dir():
        raise FileExistsError(f"{dest} exists and is not a directory")
    elif any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    root = dest.resolve()
    try:
        for path, (content, mode) in sorted(files.items()):
            _write_one(root, path, content, mode)
    except BaseException:
        if created:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise


def _ensure_inside(root: Path, target: Path, path: str) -> None:
    if not target.resolve().is_relative_to(root):
        _problem("resolves outside the destination", path)


def _write_one(root: Path, path: str, content: bytes, mode: int) -> None:
    target = root.joinpath(*path.split("/"))
    # Checked before and after creating the parents: nothing may lead outside.
    _ensure_inside(root, target, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _ensure_inside(root, target.parent, path)
    flags = (
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(target, flags, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
