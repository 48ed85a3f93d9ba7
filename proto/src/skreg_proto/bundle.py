"""Skill bundles: a gzip'd tar of the skill directory, read and written safely.

Reading never touches the disk and never trusts the archive: the compressed
size is checked first, decompression is streamed and stops as soon as a limit
is crossed, and every entry name is checked before its content is read.

A bundle must have `SKILL.md` at its root. An archive that wraps everything in
one top-level directory (`my-skill/SKILL.md`, what `tar czf x.tgz my-skill`
gives) is accepted and that one directory is stripped, so both layouts give the
same files and the same digest. Only one level is stripped, and only when the
root holds no `SKILL.md` and nothing but that directory.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NoReturn, Self

import msgspec

from skreg_proto.bundle_limits import (
    BUNDLE_PATH,
    SKILL_FILE,
    BundleLimits,
    EntryIndex,
    Files,
    LimitCounter,
    check_files,
    check_for_extraction,
    display_name,
    entry_type_problem,
    limit_error,
    normalise_entry_path,
    strip_wrapper,
)
from skreg_proto.digest import FileEntry, build_manifest, compute_digest, normalise_mode
from skreg_proto.problems import FieldProblem, FormatError

__all__ = [
    "Bundle",
    "BundleLimits",
    "FileEntry",
    "build_manifest",
    "compute_digest",
    "extract_bundle",
    "pack_directory",
    "pack_files",
    "read_bundle",
]

_CHUNK = 64 * 1024
# tarfile lets a few ValueErrors escape on malformed pax records (found by fuzzing).
_TAR_ERRORS = (tarfile.TarError, ValueError, OverflowError)
# tarfile's "a zero block": the only header error that is a proper end of archive.
_EOF_HEADER_ERROR: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]


class Bundle(msgspec.Struct, frozen=True):
    """A checked bundle: its files, manifest (sorted by path) and canonical digest."""

    files: dict[str, bytes]
    manifest: list[FileEntry]
    digest: str
    compressed_size: int
    total_size: int


def _problem(message: str, path: str = BUNDLE_PATH) -> NoReturn:
    raise FormatError([FieldProblem(path, message)])


class _CappedGunzip:
    """Decompresses gzip as tarfile asks for it, refusing to go past `budget` bytes."""

    def __init__(self, data: bytes, budget: int) -> None:
        self._gzip = gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb")
        self._budget = budget
        self._count = 0

    def read(self, size: int = -1, /) -> bytes:
        # Never more than one chunk per call, whatever size tarfile asks for.
        want = _CHUNK if size < 0 else min(size, _CHUNK)
        try:
            chunk = self._gzip.read(want)
        except EOFError:
            _problem("bundle is truncated: the gzip stream ends early")
        except (gzip.BadGzipFile, zlib.error) as exc:
            _problem(f"bundle is not a valid gzip stream: {exc}")
        self._count += len(chunk)
        if self._count > self._budget:
            raise limit_error(BUNDLE_PATH, f"bundle decompresses to more than {self._budget} bytes")
        return chunk

    def drain(self) -> None:
        """Read to the end, so a bad checksum, truncation or trailing bomb is caught."""
        while self.read(_CHUNK):
            pass

    def write(self, data: bytes, /) -> int:
        raise io.UnsupportedOperation("read-only")

    def tell(self) -> int:
        return self._count

    def seek(self, pos: int, /) -> int:
        raise io.UnsupportedOperation("not seekable")

    def close(self) -> None:
        self._gzip.close()


class _EndTrackingTarInfo(tarfile.TarInfo):
    """Remembers why tarfile stopped: it ends silently on a bad or truncated header."""

    @classmethod
    def fromtarfile(cls, tarfile: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile)
        except Exception as exc:
            if isinstance(tarfile, _TarReader):
                tarfile.stop_reason = exc
            raise


class _TarReader(tarfile.TarFile):
    stop_reason: Exception | None = None


def _members(reader: _CappedGunzip) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    """Tar members one by one from the stream, with clear errors for non-tar input."""
    try:
        tar = _TarReader.open(
            fileobj=reader,
            mode="r|",
            tarinfo=_EndTrackingTarInfo,
            encoding="utf-8",
            errors="surrogateescape",
        )
    except _TAR_ERRORS as exc:
        _problem(f"bundle is not a tar archive: {exc}")
    with tar:
        try:
            for member in tar:
                yield member, tar
        except _TAR_ERRORS as exc:
            _problem(f"tar archive is corrupt or truncated: {exc}")
        if not isinstance(tar.stop_reason, _EOF_HEADER_ERROR):
            _problem("tar archive is truncated or corrupt: no end-of-archive marker")


class _Collected(msgspec.Struct):
    files: Files
    dirs: set[str]
    problems: list[FieldProblem]


def _collect(reader: _CappedGunzip, limits: BundleLimits) -> _Collected:
    """Every entry checked; per-entry problems gathered, limit breaches raised at once."""
    counter = LimitCounter(limits)
    index = EntryIndex()
    out = _Collected(files={}, dirs=set(), problems=[])
    for member, tar in _members(reader):
        shown = display_name(member.name)
        if member.isdir():
            counter.add_dir(shown)
        else:
            counter.add_file(shown, max(member.size, 0))
        problem = entry_type_problem(member.type)
        try:
            path = normalise_entry_path(member.name)
        except ValueError as exc:
            problem = problem or str(exc)
            path = ""
        if problem is None and path == "" and not member.isdir():
            problem = "file has an empty name"
        if problem is None and path:
            problem = index.add_dir(path) if member.isdir() else index.add_file(path)
        if problem is not None:
            out.problems.append(FieldProblem(shown, problem))
        elif member.isdir():
            out.dirs.add(path)
        else:
            out.files[path] = (_read_member(tar, member), bool(member.mode & stat.S_IXUSR))
    out.problems.extend(index.parent_conflicts())
    return out


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:  # pragma: no cover - only for non-files, filtered above
        _problem("entry has no content", display_name(member.name))
    with handle:
        try:
            return handle.read()
        except _TAR_ERRORS as exc:
            _problem(f"tar archive is truncated: {exc}", display_name(member.name))


def read_bundle(data: bytes, limits: BundleLimits = BundleLimits()) -> Bundle:
    """Check and open a `.tar.gz` bundle held in memory; raises `FormatError`."""
    if len(data) > limits.max_compressed_bytes:
        _problem(
            f"bundle is {len(data)} bytes compressed; the limit is {limits.max_compressed_bytes}"
        )
    if not data.startswith(b"\x1f\x8b"):
        _problem("bundle is not gzip-compressed (expected a .tar.gz)")
    reader = _CappedGunzip(data, limits.decompressed_budget())
    collected = _collect(reader, limits)
    reader.drain()
    if collected.problems:
        raise FormatError(collected.problems)
    files = strip_wrapper(collected.files, collected.dirs)
    if SKILL_FILE not in files:
        _problem("bundle has no SKILL.md at its root", SKILL_FILE)
    manifest = build_manifest(files)
    return Bundle(
        files={path: files[path][0] for path in sorted(files)},
        manifest=manifest,
        digest=compute_digest(manifest),
        compressed_size=len(data),
        total_size=sum(entry.size for entry in manifest),
    )


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
