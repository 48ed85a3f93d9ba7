"""ZIP archives from other origins pass the same rules as tar bundles."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest
from skreg_proto.bundle import BundleLimits, pack_files, read_bundle, read_zip
from skreg_proto.problems import FormatError

SKILL = b"---\nname: zipped\ndescription: A zipped skill.\n---\nBody.\n"


def _zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _problems(data: bytes, limits: BundleLimits = BundleLimits()) -> str:
    with pytest.raises(FormatError) as caught:
        read_zip(data, limits)
    return " ".join(f"{p.path}: {p.message}" for p in caught.value.problems)


def test_a_zip_gives_the_same_bundle_as_the_tar_of_its_files() -> None:
    data = _zip(
        [
            ("SKILL.md", SKILL, 0o100644),
            ("scripts/", b"", stat.S_IFDIR | 0o755),
            ("scripts/run.sh", b"#!/bin/sh\n", 0o100755),
        ]
    )
    expected = read_bundle(
        pack_files({"SKILL.md": (SKILL, False), "scripts/run.sh": (b"#!/bin/sh\n", True)})
    )
    assert read_zip(data).digest == expected.digest
    wrapped = _zip([("zipped/SKILL.md", SKILL, 0o100644)])
    assert read_zip(wrapped).files == {"SKILL.md": SKILL}


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([("SKILL.md", SKILL, 0o100644), ("link", b"/etc/passwd", 0o120777)], "links"),
        ([("SKILL.md", SKILL, 0o100644), ("../escape", b"x", 0o100644)], ".."),
        ([("/abs/SKILL.md", SKILL, 0o100644)], "absolute"),
        ([("notes.md", b"no skill here", 0o100644)], "SKILL.md"),
    ],
)
def test_unsafe_entries_are_refused(entries: list[tuple[str, bytes, int]], expected: str) -> None:
    assert expected in _problems(_zip(entries))


def test_limits_apply_before_inflating_and_garbage_is_refused() -> None:
    bomb = _zip([("SKILL.md", SKILL, 0o100644), ("big", b"\0" * 2_000_000, 0o100644)])
    assert len(bomb) < 10_000
    assert "per file" in _problems(bomb, BundleLimits(max_file_bytes=1_000_000))
    assert "ZIP" in _problems(b"PK\x03\x04 not really a zip")
    assert "larger than" in _problems(bomb, BundleLimits(max_compressed_bytes=100))
