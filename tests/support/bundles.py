"""Tar and gzip archives built by hand: the hostile bundles a packer would never make.

Shared by tests/proto/test_bundle.py and bench/bench_bundle.py (which times what
the tests bound by bytes and entries).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from typing import Any

from skreg_proto.bundle import BundleLimits

SKILL = b"---\nname: demo\ndescription: A demo skill.\n---\n# Demo\n"
GIB = 1024**3


def member(
    name: str,
    data: bytes = b"",
    *,
    kind: bytes = tarfile.REGTYPE,
    mode: int = 0o644,
    mtime: int = 0,
    linkname: str = "",
    owner: int = 0,
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = mode
    info.mtime = mtime
    info.linkname = linkname
    info.uid = info.gid = owner
    info.uname = info.gname = "someone" if owner else ""
    return info, data


def raw_tar(members: Any, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, encoding="utf-8") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def gzip_with_zeros(prefix: bytes, zero_bytes: int, chunk: int = 16 * 1024**2) -> bytes:
    """A valid gzip of `prefix` followed by `zero_bytes` zeros, built in well under a second.

    Streams zlib compression of zero chunks; after a full flush the compressor
    keeps no history, so every further chunk compresses to the very same bytes
    and can be repeated instead of recompressed.
    """
    assert zero_bytes % chunk == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(chunk)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) == segment
    tail = compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(zero_bytes // chunk):
        crc = zlib.crc32(zeros, crc)
    size = (len(prefix) + zero_bytes) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    body = head + segment * (zero_bytes // chunk) + tail
    return header + body + crc.to_bytes(4, "little") + size.to_bytes(4, "little")


def tiny_files_tar(count: int) -> bytes:
    """`count` empty files as raw tar headers, patched from one template (fast)."""
    template = bytearray(member("f0000000.txt")[0].tobuf(tarfile.GNU_FORMAT))
    template[148:156] = b" " * 8
    base = sum(template) - sum(b"f0000000.txt")
    headers = bytearray()
    for i in range(count):
        name = f"f{i:07d}.txt".encode()
        template[0 : len(name)] = name
        template[148:156] = b"%06o\0 " % (base + sum(name))
        headers += template
    return bytes(headers)


def hundred_thousand_tiny_files() -> bytes:
    """A skill followed by 100,000 empty files, cut short before its end.

    The gzip trailer and the last blocks are dropped: a reader that went on to the
    end would report truncation instead of the file count.
    """
    raw = raw_tar([member("SKILL.md", SKILL)])[:1024] + tiny_files_tar(100_000)
    data = gzip.compress(raw, compresslevel=1)
    return data[: len(data) - 2000]


def bomb_after_the_archive() -> bytes:
    """A valid skill tar then 4 GiB of zeros (legal tar padding) in one ~4 MB gzip stream.

    Under the compressed limit, so only the streamed decompression budget can stop it.
    """
    bomb = gzip_with_zeros(raw_tar([member("SKILL.md", SKILL)]), 4 * GIB)
    assert len(bomb) < BundleLimits().max_compressed_bytes
    return bomb


def bomb_inside_a_header() -> bytes:
    """A GNU long-name header claiming 4 GiB: tarfile would read it all into memory."""
    info = tarfile.TarInfo("././@LongLink")
    info.type = tarfile.GNUTYPE_LONGNAME
    info.size = 4 * GIB
    return gzip_with_zeros(info.tobuf(tarfile.GNU_FORMAT), 4 * GIB)
