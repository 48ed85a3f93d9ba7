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

from skreg_proto.bundle.extract import extract_bundle
from skreg_proto.bundle.model import Bundle
from skreg_proto.bundle.pack import pack_directory, pack_files
from skreg_proto.bundle.read import read_bundle
from skreg_proto.bundle.zipread import read_zip
from skreg_proto.bundle_limits import BundleLimits
from skreg_proto.digest import FileEntry, build_manifest, compute_digest

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
    "read_zip",
]
