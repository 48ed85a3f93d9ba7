"""Reading a bundle from bytes: streamed, bounded, and every entry checked before use."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zlib
from collections.abc import Iterator
from typing import Self

import msgspec

from skreg_proto.bundle.model import Bundle
from skreg_proto.bundle.model import fail as _problem
from skreg_proto.bundle_limits import (
    BUNDLE_PATH,
    SKILL_FILE,
    BundleLimits,
    EntryIndex,
    Files,
    LimitCounter,
    display_name,
    entry_type_problem,
    limit_error,
    normalise_entry_path,
    strip_wrapper,
    wrapper_folder,
)
from skreg_proto.digest import build_manifest, compute_digest
from skreg_proto.problems import FieldProblem, FormatError

_CHUNK = 64 * 1024
# tarfile lets a few ValueErrors escape on malformed pax records (found by fuzzing).
_TAR_ERRORS = (tarfile.TarError, ValueError, OverflowError)
# tarfile's "a zero block": the only header error that is a proper end of archive.
_EOF_HEADER_ERROR: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
# tarfile's "a zero block": the only header error that is a proper end of archive.


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
    folder = wrapper_folder(collected.files, collected.dirs)
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
        folder=folder,
    )
