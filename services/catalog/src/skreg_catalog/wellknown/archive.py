"""The archives the discovery index points at: one deterministic ZIP per bundle.

The `skills` CLI (npm, 1.7.x) verifies `sha256` of the exact bytes it downloads
against the index's `digest` and drops the skill silently on any mismatch, on a
wrapping folder (SKILL.md must be at the root), on a `./` prefix or on a link
member. Stored bundles may wrap their files in one folder (uploads may), so every
archive is packed again from the parsed files: SKILL.md and the rest at the root,
entries sorted, fixed timestamps, no directory entries, only regular files.

ZIP rather than tar.gz: that client reads tar names from the ustar header only
(PAX and GNU long names are skipped), so a path past 100 bytes would arrive
truncated; ZIP names have no such limit and carry UTF-8 (flag 0x800). The bytes
depend only on the files and on zlib: replicas running one image serve identical
archives. `ARCHIVE_SCHEME` names the packing (and the zlib build) so a change to
either never mixes old digests with new bytes.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Hashable
from dataclasses import dataclass

from cachetools import LRUCache
from skreg_proto.bundle import Bundle

from skreg_catalog.memory import SizedLRU

ARCHIVE_SCHEME = f"zip1-zlib{zlib.ZLIB_RUNTIME_VERSION}"
# 1980-01-01, the earliest time a ZIP entry can carry: no clock in the bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_REGULAR = 0o100000
# Archive digests are 71-byte strings: 100,000 of them is a few MiB, and each one
# saves a bundle read and a repack whenever the index is built again.
DIGESTS_KEPT = 100_000


def pack_archive(bundle: Bundle) -> bytes:
    """The client archive of `bundle`: a ZIP with its files at the root, byte-for-byte stable."""
    executable = {entry.path for entry in bundle.manifest if entry.mode & 0o111}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zip_:
        for path in sorted(bundle.files):
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the mode bits below are read
            mode = 0o755 if path in executable else 0o644
            info.external_attr = (_REGULAR | mode) << 16
            zip_.writestr(info, bundle.files[path], compresslevel=9)
    return buffer.getvalue()


def archive_digest(data: bytes) -> str:
    """`sha256:` + lowercase hex of the archive's bytes: what the client checks."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Archive:
    """One packed archive and its digest."""

    data: bytes
    digest: str


class ArchiveCache:
    """Archives (bounded by bytes) and their digests (bounded by count), by bundle digest.

    Both are immutable under their key: a bundle digest names its files, and the
    packing is deterministic, so nothing here is ever invalidated.
    """

    def __init__(self, max_bytes: int = 32 * 1024**2) -> None:
        self._archives: SizedLRU[Archive] = SizedLRU(max_bytes, lambda archive: len(archive.data))
        self._digests: LRUCache[Hashable, str] = LRUCache(DIGESTS_KEPT)

    def digest(self, bundle_digest: str) -> str | None:
        """The archive digest of a bundle, if this process packed it before."""
        return self._digests.get((ARCHIVE_SCHEME, bundle_digest))

    def archive(self, bundle_digest: str) -> Archive | None:
        """The packed archive of a bundle, if still in memory."""
        return self._archives.get(bundle_digest)

    def pack(self, bundle: Bundle) -> Archive:
        """Pack `bundle` (CPU work: callers run it off the event loop) and remember it."""
        data = pack_archive(bundle)
        archive = Archive(data, archive_digest(data))
        self._digests[(ARCHIVE_SCHEME, bundle.digest)] = archive.digest
        self._archives.remember(bundle.digest, archive)
        return archive
