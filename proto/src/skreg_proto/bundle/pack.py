"""Packing files or a directory into a deterministic, checked bundle (never following links)."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from collections.abc import Mapping
from pathlib import Path

from skreg_proto.bundle.model import fail as _problem
from skreg_proto.bundle.read import read_bundle
from skreg_proto.bundle_limits import BundleLimits, Files, LimitCounter, check_files, display_name
from skreg_proto.digest import normalise_mode
from skreg_proto.problems import FieldProblem, FormatError


def _write_targz(files: Mapping[str, tuple[bytes, bool]]) -> bytes:
    """Deterministic tar.gz: sorted, no directories, mtime 0, owner 0 with no names."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        for path in sorted(files):
            content, executable = files[path]
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = normalise_mode(executable)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


def _pack(
    files: Mapping[str, tuple[bytes, bool]], limits: BundleLimits, problems: list[FieldProblem]
) -> bytes:
    normalised, path_problems = check_files(files, limits)
    if problems or path_problems:
        raise FormatError(problems + path_problems)
    data = _write_targz(normalised)
    read_bundle(data, limits)  # the same rules as an upload: SKILL.md, compressed size, ...
    return data


def pack_files(
    files: Mapping[str, tuple[bytes, bool]], limits: BundleLimits = BundleLimits()
) -> bytes:
    """Pack `path -> (content, executable)` into a deterministic, checked `.tar.gz`."""
    return _pack(files, limits, [])


def _read_regular(path: str, shown: str, limits: BundleLimits) -> tuple[bytes, bool]:
    # O_NOFOLLOW + fstat: the entry cannot be swapped for a link after the walk saw it.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            _problem("not a regular file", shown)
        content = handle.read(limits.max_file_bytes + 1)
    return content, bool(info.st_mode & stat.S_IXUSR)


def _walk(root: Path, limits: BundleLimits) -> tuple[Files, list[FieldProblem]]:
    counter = LimitCounter(limits)
    files: Files = {}
    problems: list[FieldProblem] = []
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            shown = display_name(rel)
            if entry.name.casefold() == ".git":
                continue
            if entry.is_symlink():
                problems.append(FieldProblem(shown, "symbolic links are not allowed"))
            elif entry.is_dir(follow_symlinks=False):
                counter.add_dir(shown)
                pending.append((Path(entry.path), f"{rel}/"))
            elif entry.is_file(follow_symlinks=False):
                counter.add_file(shown, entry.stat(follow_symlinks=False).st_size)
                files[rel] = _read_regular(entry.path, shown, limits)
            else:
                problems.append(
                    FieldProblem(shown, "special files (devices, fifos, sockets) are not allowed")
                )
    return files, problems


def pack_directory(root: Path, limits: BundleLimits = BundleLimits()) -> bytes:
    """Pack a skill directory; skips `.git`, refuses links and special files (never follows).

    `root` itself may be a link to a directory; nothing under it is followed.
    Empty directories are not kept (directories are implied by file paths).
    """
    if not Path(root).is_dir():
        _problem(f"{root} is not a directory")
    files, problems = _walk(Path(root), limits)
    return _pack(files, limits, problems)
