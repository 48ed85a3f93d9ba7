"""Reading a skill from a ZIP archive (as other registries' discovery indexes serve them).

The archive is checked as strictly as a tar bundle: its size first, then each entry
against the limits by its declared size before a byte is inflated (zipfile never
inflates past the declared size and checks every CRC), links, devices and encrypted
entries refused. The files are then packed into a bundle and read back, so every
naming rule and the SKILL.md check are the ones `read_bundle` applies.
"""

from __future__ import annotations

import io
import stat
import zipfile

from skreg_proto.bundle.model import Bundle
from skreg_proto.bundle.model import fail as _problem
from skreg_proto.bundle.pack import pack_files
from skreg_proto.bundle.read import read_bundle
from skreg_proto.bundle_limits import BundleLimits, Files, LimitCounter, display_name

_ENCRYPTED = 0x1


def read_zip(data: bytes, limits: BundleLimits = BundleLimits()) -> Bundle:
    """The bundle a ZIP archive holds; `FormatError` for anything the bundle rules refuse."""
    if len(data) > limits.max_compressed_bytes:
        _problem(f"archive is larger than {limits.max_compressed_bytes} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        _problem(f"not a readable ZIP archive: {exc}")
    counter = LimitCounter(limits)
    files: Files = {}
    with archive:
        for info in archive.infolist():
            shown = display_name(info.filename)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if info.is_dir() or kind == stat.S_IFDIR:
                counter.add_dir(shown)
                continue
            if kind not in (0, stat.S_IFREG):
                _problem("links and special files are not allowed", shown)
            if info.flag_bits & _ENCRYPTED:
                _problem("encrypted entries are not supported", shown)
            counter.add_file(shown, info.file_size)
            try:
                content = archive.read(info)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
                _problem(f"cannot be read: {exc}", shown)
            executable = bool((info.external_attr >> 16) & stat.S_IXUSR)
            if info.filename in files:
                _problem("appears twice in the archive", shown)
            files[info.filename] = (content, executable)
    return read_bundle(pack_files(files, limits), limits)
