"""The checked Bundle value, shared by reading, packing and extraction."""

from __future__ import annotations

from typing import NoReturn

import msgspec

from skreg_proto.bundle_limits import BUNDLE_PATH
from skreg_proto.digest import FileEntry
from skreg_proto.problems import FieldProblem, FormatError


class Bundle(msgspec.Struct, frozen=True):
    """A checked bundle: its files, manifest (sorted by path) and canonical digest."""

    files: dict[str, bytes]
    manifest: list[FileEntry]
    digest: str
    compressed_size: int
    total_size: int
    folder: str | None = None  # the single top-level folder the files came in, if any


def fail(message: str, path: str = BUNDLE_PATH) -> NoReturn:
    raise FormatError([FieldProblem(path, message)])
