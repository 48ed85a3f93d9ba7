"""Looking inside archives in a bundle, in memory and within budget.

Real skill collections ship archives on purpose (Office templates are zip files,
fonts come zipped), so an archive is not a finding. What is: members that are native
executables (reported by the native-executable rules on the member), members whose
scripts trip any other rule (every member is scanned like a file, as
`archive.zip!/path`), encrypted members, Office macros, archives that expand far beyond
their size, nest too deep, hold too many members or cannot be read at all.

Nothing is written to disk; every read is bounded by `ScanLimits`, and bytes read
from archives count toward the bundle's scan budget.
"""

from __future__ import annotations

import bz2
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Protocol

from skreg_catalog.scanning.limits import Budget

_EXECUTABLE_NAMES = (
    ".exe",
    ".dll",
    ".scr",
    ".com",
    ".bat",
    ".cmd",
    ".ps1",
    ".vbs",
    ".js",
    ".jar",
    ".msi",
    ".sh",
    ".command",
    ".app",
    ".so",
    ".dylib",
    ".bin",
    ".lnk",
    ".hta",
    ".py",
)
_CHUNK = 64 * 1024
_RATIO_FLOOR = 1024**2  # members smaller than this unpacked never count as bombs


class Emit(Protocol):
    def __call__(self, rule_id: str, message: str | None = None) -> None: ...


ScanMember = Callable[[str, bytes, int, bool], None]  # path, data, depth, text rules


def archive_kind(data: bytes) -> str | None:
    """The archive format by magic number (file names lie), or None."""
    head = data[:8]
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bzip2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    if (
        head[:6] == b"7z\xbc\xaf\x27\x1c"
        or head[:7] == b"Rar!\x1a\x07\x00"
        or head[:7] == b"Rar!\x1a\x07\x01"
    ):
        return "unsupported"
    return None


class BombError(Exception):
    """An archive member expanded past its ratio or the archive's byte budget."""


def inspect(
    path: str, data: bytes, kind: str, depth: int, budget: Budget, emit: Emit, scan: ScanMember
) -> None:
    limits = budget.limits
    if depth >= limits.archive_max_depth:
        emit(
            "archive.opaque",
            f"archives nested more than {limits.archive_max_depth} deep; "
            "ship the contents unpacked",
        )
        return
    if kind == "unsupported":
        emit(
            "archive.opaque",
            "7z and RAR archives cannot be inspected; use zip or tar, or "
            "ship the contents unpacked",
        )
        return
    state = _Unpacked(limits.archive_max_unpacked_bytes, limits.archive_max_ratio)
    try:
        if kind == "zip":
            _zip(path, data, depth, budget, emit, scan, state)
        elif kind == "tar":
            _tar(path, data, depth, budget, emit, scan, state)
        else:
            inner = _decompress(kind, data, state, budget.limits.max_file_bytes)
            name = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path + ".out"
            budget.charge(len(inner), f"{path} (unpacked)")
            scan(f"{path}!/{name.rsplit('/', 1)[-1]}", inner, depth + 1, True)
    except BombError as exc:
        emit("archive.bomb", f"{exc}; ship the contents unpacked")
    except (
        zipfile.BadZipFile,
        tarfile.TarError,
        zlib.error,
        OSError,
        EOFError,
        lzma.LZMAError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        emit(
            "archive.opaque",
            f"the archive cannot be read ({type(exc).__name__}); "
            "ship a valid archive or its contents unpacked",
        )


class _Unpacked:
    """Bytes unpacked so far from one top-level archive."""

    def __init__(self, cap: int, ratio: int) -> None:
        self.cap = cap
        self.ratio = ratio
        self.total = 0

    def read(self, stream: IO[bytes], packed: int, name: str, file_cap: int) -> bytes:
        allowed = max(_RATIO_FLOOR, packed * self.ratio)
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            self.total += len(chunk)
            if size > allowed:
                raise BombError(f"{name} expands more than {self.ratio}x its packed size")
            if size > file_cap or self.total > self.cap:
                raise BombError(f"{name} unpacks to more than the scanner's budget")
            parts.append(chunk)


def _zip(
    path: str,
    data: bytes,
    depth: int,
    budget: Budget,
    emit: Emit,
    scan: ScanMember,
    state: _Unpacked,
) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > budget.limits.archive_max_members:
            emit(
                "archive.opaque",
                f"the archive holds {len(members):,} members, more than the "
                f"scanner looks at ({budget.limits.archive_max_members:,})",
            )
            return
        names = {m.filename for m in members}
        office = "[Content_Types].xml" in names or "mimetype" in names
        encrypted = [m.filename for m in members if m.flag_bits & 0x1]
        if encrypted:
            if any(n.lower().endswith(_EXECUTABLE_NAMES) for n in encrypted):
                emit("archive.encrypted-executable")
            else:
                emit("archive.encrypted")
        for member in members:
            budget.check_time()
            if member.is_dir() or member.flag_bits & 0x1:
                continue
            if office and member.filename.lower().endswith("vbaproject.bin"):
                emit("archive.office-macro")
            with archive.open(member) as stream:
                content = state.read(
                    stream, member.compress_size, member.filename, budget.limits.max_file_bytes
                )
            budget.charge(len(content), f"{path}!/{member.filename}")
            # Office parts are XML data, not instructions; their binary parts still get
            # the byte rules (an executable smuggled in a document is still one).
            scan(f"{path}!/{member.filename}", content, depth + 1, not office)


def _tar(
    path: str,
    data: bytes,
    depth: int,
    budget: Budget,
    emit: Emit,
    scan: ScanMember,
    state: _Unpacked,
) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        count = 0
        while (member := archive.next()) is not None:
            count += 1
            budget.check_time()
            if count > budget.limits.archive_max_members:
                emit(
                    "archive.opaque",
                    "the archive holds more members than the scanner looks "
                    f"at ({budget.limits.archive_max_members:,})",
                )
                return
            if not member.isfile():
                continue
            stream = archive.extractfile(member)
            if stream is None:
                continue
            content = state.read(stream, member.size, member.name, budget.limits.max_file_bytes)
            budget.charge(len(content), f"{path}!/{member.name}")
            scan(f"{path}!/{member.name}", content, depth + 1, True)


def _decompress(kind: str, data: bytes, state: _Unpacked, file_cap: int) -> bytes:
    """gzip / bzip2 / xz, bounded by ratio and budget (a stream may be concatenated)."""
    allowed = min(max(_RATIO_FLOOR, len(data) * state.ratio), file_cap, state.cap - state.total)
    if kind == "gzip":
        decoder: zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor = (
            zlib.decompressobj(wbits=31)
        )
        out = decoder.decompress(data, allowed + 1)
    elif kind == "bzip2":
        decoder = bz2.BZ2Decompressor()
        out = decoder.decompress(data, max_length=allowed + 1)
    else:
        decoder = lzma.LZMADecompressor()
        out = decoder.decompress(data, max_length=allowed + 1)
    if len(out) > allowed:
        raise BombError(
            f"the {kind} stream expands more than {state.ratio}x or past the scanner's budget"
        )
    state.total += len(out)
    return out
