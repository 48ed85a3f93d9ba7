"""The bundle manifest and its canonical digest.

The digest depends only on the files (path, normalised mode, content), never on
tar member order, timestamps, owners or gzip settings, so two uploads of the
same skill always get the same digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import msgspec

EXECUTABLE_MODE = 0o755
REGULAR_MODE = 0o644


class FileEntry(msgspec.Struct, frozen=True):
    """One file of a bundle, as the manifest (and the API) shows it.

    `mode` is normalised: 0o755 when the owner executable bit was set, else 0o644.
    `sha256` is the lowercase hex digest of the content.
    """

    path: str
    size: int
    mode: int
    sha256: str


def normalise_mode(executable: bool) -> int:
    """The only two modes a bundle keeps: executable or not."""
    return EXECUTABLE_MODE if executable else REGULAR_MODE


def file_entry(path: str, content: bytes, executable: bool) -> FileEntry:
    """The manifest line for one file."""
    return FileEntry(
        path=path,
        size=len(content),
        mode=normalise_mode(executable),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def build_manifest(files: Mapping[str, tuple[bytes, bool]]) -> list[FileEntry]:
    """Manifest for `path -> (content, executable)`, sorted by path.

    Paths are taken as given; checking them is `read_bundle`'s job.
    """
    return [
        file_entry(path, content, executable)
        for path, (content, executable) in sorted(files.items())
    ]


def compute_digest(manifest: Iterable[FileEntry]) -> str:
    """`"sha256:<hex>"` over the manifest's canonical lines.

    One line per file, `"<path>\\0<mode>\\0<sha256 hex>\\n"`, UTF-8 encoded, the
    mode written as octal digits without prefix (`"644"` or `"755"`); lines
    are sorted bytewise (the same as by code point for UTF-8) so the input
    order does not matter. Paths never contain NUL, so the encoding is
    unambiguous.
    """
    lines = sorted(f"{entry.path}\0{entry.mode:o}\0{entry.sha256}\n".encode() for entry in manifest)
    hasher = hashlib.sha256()
    for line in lines:
        hasher.update(line)
    return f"sha256:{hasher.hexdigest()}"
