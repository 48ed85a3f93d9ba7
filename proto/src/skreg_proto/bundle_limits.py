"""What a bundle may hold: size limits, entry-name rules, collisions, layout.

Shared by reading (`read_bundle`), packing (`pack_files`, `pack_directory`) and
extracting (`extract_bundle`) so all three agree on what is allowed.
"""

from __future__ import annotations

import tarfile
import unicodedata
from collections.abc import Iterable, Mapping

import msgspec

from skreg_proto.digest import EXECUTABLE_MODE, FileEntry, file_entry
from skreg_proto.problems import FieldProblem, FormatError

# The `FieldProblem.path` of problems about the bundle as a whole. No entry can
# have an empty path, so it never clashes with a file name.
BUNDLE_PATH = ""

SKILL_FILE = "SKILL.md"

_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE)
_REJECTED_TYPES = {
    tarfile.SYMTYPE: "symbolic links are not allowed",
    tarfile.LNKTYPE: "hard links are not allowed",
    tarfile.CHRTYPE: "character devices are not allowed",
    tarfile.BLKTYPE: "block devices are not allowed",
    tarfile.FIFOTYPE: "fifos are not allowed",
    tarfile.GNUTYPE_SPARSE: "sparse files are not supported",
}


class BundleLimits(msgspec.Struct, frozen=True):
    """Size limits for one bundle (defaults from SKILL_FORMAT.md)."""

    max_files: int = 1000
    max_file_bytes: int = 5 * 1024**2
    max_total_bytes: int = 20 * 1024**2
    max_compressed_bytes: int = 10 * 1024**2

    def decompressed_budget(self) -> int:
        """How many bytes of tar stream may be decompressed before giving up.

        The unpacked total plus an allowance for tar framing: per entry (files
        and directories, up to `max_files` each) a header, padding and a long
        name header (~4 KiB), plus end-of-archive blocks and record padding.
        """
        return self.max_total_bytes + (2 * self.max_files + 8) * 4096 + 20 * 1024


class LimitCounter:
    """Counts entries and bytes as they stream past; raises on the first breach.

    A limit breach stops reading at once (a bomb must cost nothing), so it
    raises `FormatError` with a single problem instead of collecting more.
    """

    def __init__(self, limits: BundleLimits) -> None:
        self.limits = limits
        self.files = 0
        self.dirs = 0
        self.total_bytes = 0

    def add_dir(self, path: str) -> None:
        """Count one directory entry."""
        self.dirs += 1
        if self.dirs > self.limits.max_files:
            raise limit_error(path, f"bundle has more than {self.limits.max_files} directories")

    def add_file(self, path: str, size: int) -> None:
        """Count one non-directory entry of `size` bytes."""
        limits = self.limits
        self.files += 1
        if self.files > limits.max_files:
            raise limit_error(BUNDLE_PATH, f"bundle has more than {limits.max_files} files")
        if size > limits.max_file_bytes:
            raise limit_error(
                path, f"file is {size} bytes; the limit is {limits.max_file_bytes} bytes per file"
            )
        self.total_bytes += size
        if self.total_bytes > limits.max_total_bytes:
            raise limit_error(
                BUNDLE_PATH,
                f"bundle unpacks to more than {limits.max_total_bytes} bytes in total",
            )


def limit_error(path: str, message: str) -> FormatError:
    """The error for a breached limit: one problem, reading stops."""
    return FormatError([FieldProblem(path, message)])


def entry_type_problem(member_type: bytes) -> str | None:
    """Why a tar entry of this type is refused: only files and directories are allowed."""
    if member_type in _REJECTED_TYPES:
        return _REJECTED_TYPES[member_type]
    if member_type not in _FILE_TYPES:
        return f"unsupported tar entry type {member_type!r}"
    return None


def display_name(name: str) -> str:
    """A printable form of a raw entry name (undecodable bytes become U+FFFD)."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def normalise_entry_path(name: str) -> str:
    """The canonical form of an entry name, or `ValueError` saying which rule it breaks.

    Rules: valid UTF-8; no NUL, backslash or other control characters; not
    absolute; no empty, `.` or `..` components; no `.git` component (in any
    case). Leading `./` prefixes and one trailing `/` (directory entries) are
    dropped, as tar tools write them; the result is NFC-normalised so names
    packed on macOS (NFD) and Linux give the same digest. The root directory
    itself (`.` or `./`) normalises to `""`.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("name is not valid UTF-8") from None
    if "\0" in name:
        raise ValueError("name contains a NUL byte")
    if "\\" in name:
        raise ValueError("name contains a backslash")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise ValueError("name contains a control character")
    if name.startswith("/"):
        raise ValueError("absolute paths are not allowed")
    while name.startswith("./"):
        name = name[2:]
    if name in (".", ""):
        return ""
    if name.endswith("/"):
        name = name[:-1]
    for part in name.split("/"):
        if part == "..":
            raise ValueError("'..' path components are not allowed")
        if part in ("", "."):
            raise ValueError("empty or '.' path components are not allowed")
        if part.casefold() == ".git":
            raise ValueError("'.git' entries are not allowed")
    return unicodedata.normalize("NFC", name)


def _collision_key(path: str) -> str:
    # Case-insensitive filesystems (macOS, Windows) would put these on one file.
    return unicodedata.normalize("NFC", path.casefold())


class EntryIndex:
    """Finds entries that would land on the same file when extracted.

    Catches exact duplicates, names differing only in case or Unicode
    normalisation (one file on macOS/Windows), and a file used as a directory.
    """

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._dirs: dict[str, str] = {}

    def add_file(self, path: str) -> str | None:
        """Record a file; returns a problem message if it collides."""
        key = _collision_key(path)
        other = self._files.get(key)
        if other is not None:
            if other == path:
                return "duplicate entry"
            return f"collides with '{other}' (names differ only in case or Unicode form)"
        if key in self._dirs:
            return f"collides with the directory '{self._dirs[key]}'"
        self._files[key] = path
        return None

    def add_dir(self, path: str) -> str | None:
        """Record a directory; repeating one is harmless, a file of that name is not."""
        key = _collision_key(path)
        if key in self._files:
            return f"collides with the file '{self._files[key]}'"
        self._dirs.setdefault(key, path)
        return None

    def parent_conflicts(self) -> list[FieldProblem]:
        """Files whose parent directory is itself a file (`a` and `a/b`)."""
        problems = []
        for key, path in sorted(self._files.items()):
            parts = key.split("/")
            for depth in range(1, len(parts)):
                parent = self._files.get("/".join(parts[:depth]))
                if parent is not None:
                    problems.append(FieldProblem(path, f"'{parent}' is a file, not a directory"))
                    break
        return problems


Files = dict[str, tuple[bytes, bool]]
"""`path -> (content, executable)`, the in-memory form of a file tree."""


def check_files(
    files: Mapping[str, tuple[bytes, bool]], limits: BundleLimits
) -> tuple[Files, list[FieldProblem]]:
    """Files under their canonical names, plus every naming problem; raises on a limit."""
    counter = LimitCounter(limits)
    index = EntryIndex()
    normalised: Files = {}
    problems: list[FieldProblem] = []
    for raw, (content, executable) in sorted(files.items()):
        shown = display_name(raw)
        counter.add_file(shown, len(content))
        try:
            path = normalise_entry_path(raw)
        except ValueError as exc:
            problems.append(FieldProblem(shown, str(exc)))
            continue
        problem = index.add_file(path) if path else "file has an empty name"
        if problem is not None:
            problems.append(FieldProblem(shown, problem))
            continue
        normalised[path] = (content, executable)
    problems.extend(index.parent_conflicts())
    return normalised, problems


def wrapper_folder(files: Files, dirs: set[str]) -> str | None:
    """The one top-level directory wrapping everything (`my-skill/SKILL.md`), if any.

    Only when the root has no `SKILL.md`, holds nothing but that directory,
    and the directory has a `SKILL.md`; only one level.
    """
    if SKILL_FILE in files:
        return None
    tops = {path.split("/", 1)[0] for path in (*files, *dirs)}
    if len(tops) != 1:
        return None
    (top,) = tops
    if top in files or f"{top}/{SKILL_FILE}" not in files:
        return None
    return top


def strip_wrapper(files: Files, dirs: set[str]) -> Files:
    """Drop the `wrapper_folder` (when there is one) from every path."""
    top = wrapper_folder(files, dirs)
    if top is None:
        return files
    prefix = f"{top}/"
    return {path.removeprefix(prefix): value for path, value in files.items()}


def check_for_extraction(
    files: Mapping[str, bytes], manifest: Iterable[FileEntry]
) -> dict[str, tuple[bytes, int]]:
    """`path -> (content, mode)` once every path and hash is re-checked; else `FormatError`.

    A `Bundle` may have been built by hand rather than by `read_bundle`, so
    extraction trusts nothing it is given.
    """
    entries = {entry.path: entry for entry in manifest}
    index = EntryIndex()
    problems: list[FieldProblem] = []
    out: dict[str, tuple[bytes, int]] = {}
    for path, content in files.items():
        try:
            problem = None if normalise_entry_path(path) == path else "path is not canonical"
        except ValueError as exc:
            problem = str(exc)
        entry = entries.get(path)
        if entry is None:
            problem = problem or "file is missing from the manifest"
        elif entry != file_entry(path, content, entry.mode == EXECUTABLE_MODE):
            problem = problem or "content or mode does not match the manifest"
        problem = problem or index.add_file(path)
        if problem is not None:
            problems.append(FieldProblem(display_name(path), problem))
        elif entry is not None:
            out[path] = (content, entry.mode)
    missing = sorted(set(entries) - set(files))
    problems += [
        FieldProblem(path, "listed in the manifest but has no content") for path in missing
    ]
    problems += index.parent_conflicts()
    if problems:
        raise FormatError(problems)
    return out
