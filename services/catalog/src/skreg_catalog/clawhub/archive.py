"""A version's files as the ZIP the `clawhub` CLI downloads and extracts (deterministic).

The CLI unzips with fflate and writes each entry under the skill folder, without
modes; entries sit at the root (no wrapping folder). The same files always give the
same bytes: entries sorted by path, one fixed timestamp, fixed permission bits (the
executable bit kept for tools that honour it), deflate at a fixed level.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from skreg_proto.digest import FileEntry

# The earliest time a ZIP can record; any constant would do, this one says "no time".
EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
EXECUTABLE_FILE_MODE = 0o100755


def build_zip(files: Mapping[str, bytes], manifest: list[FileEntry]) -> bytes:
    """The bundle's files as a ZIP archive, byte-identical for identical content."""
    executable = {entry.path for entry in manifest if entry.mode & 0o111}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode bits below are read as such
            mode = EXECUTABLE_FILE_MODE if path in executable else FILE_MODE
            info.external_attr = mode << 16
            zf.writestr(info, files[path], compresslevel=6)
    return buffer.getvalue()
