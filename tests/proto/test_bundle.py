"""Bundles: every rejection, the canonical digest, packing and safe extraction."""

from __future__ import annotations

import builtins
import gzip
import hashlib
import io
import os
import tarfile
import tracemalloc
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from skreg_proto.bundle import (
    Bundle,
    BundleLimits,
    FileEntry,
    build_manifest,
    compute_digest,
    extract_bundle,
    pack_directory,
    pack_files,
    read_bundle,
)
from skreg_proto.bundle import read as read_module
from skreg_proto.problems import FieldProblem, FormatError

from tests.support.bundles import (
    SKILL,
    bomb_after_the_archive,
    bomb_inside_a_header,
    gzip_with_zeros,
    hundred_thousand_tiny_files,
    member,
    raw_tar,
)


@dataclass
class ReadCost:
    """What one read cost, counted where the reader does the work."""

    decompressed: int = 0
    headers: int = 0


SMALL = BundleLimits(
    max_files=5, max_file_bytes=100, max_total_bytes=250, max_compressed_bytes=4096
)


# --- building archives by hand ------------------------------------------------------------


def targz(members, *, level: int = 9, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    return gzip.compress(raw_tar(members, fmt), compresslevel=level)


def skill_tar(*extra, **kwargs) -> bytes:
    return targz([member("SKILL.md", SKILL), *extra], **kwargs)


def problems_of(data: bytes, limits: BundleLimits = BundleLimits()) -> list[FieldProblem]:
    with pytest.raises(FormatError) as info:
        read_bundle(data, limits)
    return info.value.problems


@pytest.fixture
def no_disk_writes(monkeypatch):
    """Reading is in memory: any attempt to open or create a file fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"bundle code touched the filesystem: {args!r}")

    for name in ("open", "mkdir", "makedirs", "symlink", "link", "mkfifo", "replace", "rename"):
        monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(builtins, "open", refuse)


# --- reading good bundles -----------------------------------------------------------------


def test_read_bundle_gives_files_manifest_and_digest():
    data = skill_tar(member("scripts/run.sh", b"#!/bin/sh\necho hi\n", mode=0o775))
    bundle = read_bundle(data)
    assert bundle.files == {"SKILL.md": SKILL, "scripts/run.sh": b"#!/bin/sh\necho hi\n"}
    assert bundle.manifest == [
        FileEntry("SKILL.md", len(SKILL), 0o644, hashlib.sha256(SKILL).hexdigest()),
        FileEntry("scripts/run.sh", 18, 0o755, hashlib.sha256(b"#!/bin/sh\necho hi\n").hexdigest()),
    ]
    assert bundle.digest.startswith("sha256:")
    assert len(bundle.digest) == len("sha256:") + 64
    assert bundle.compressed_size == len(data)
    assert bundle.total_size == len(SKILL) + 18


def test_digest_is_sha256_over_documented_lines():
    manifest = build_manifest({"b/x": (b"x", True), "SKILL.md": (SKILL, False)})
    expected = hashlib.sha256(
        f"SKILL.md\x00644\x00{hashlib.sha256(SKILL).hexdigest()}\n".encode()
        + f"b/x\x00755\x00{hashlib.sha256(b'x').hexdigest()}\n".encode()
    ).hexdigest()
    assert compute_digest(manifest) == f"sha256:{expected}"
    assert compute_digest(reversed(manifest)) == f"sha256:{expected}"


def test_single_wrapping_directory_is_stripped():
    flat = read_bundle(skill_tar(member("scripts/a.py", b"print(1)\n")))
    wrapped = read_bundle(
        targz(
            [
                member("my-skill/", kind=tarfile.DIRTYPE, mode=0o755),
                member("my-skill/SKILL.md", SKILL),
                member("my-skill/scripts/", kind=tarfile.DIRTYPE, mode=0o755),
                member("my-skill/scripts/a.py", b"print(1)\n"),
            ]
        )
    )
    assert wrapped.files == flat.files
    assert wrapped.digest == flat.digest
    # The folder is remembered: strict publishing holds SKILL.md's `name` to it.
    assert (wrapped.folder, flat.folder) == ("my-skill", None)


def test_dot_slash_prefix_and_root_entry_are_accepted():
    bundle = read_bundle(
        targz(
            [member("./", kind=tarfile.DIRTYPE), member("./SKILL.md", SKILL), member("./a", b"1")]
        )
    )
    assert sorted(bundle.files) == ["SKILL.md", "a"]


def test_wrapper_is_not_stripped_when_root_holds_more():
    data = targz([member("my-skill/SKILL.md", SKILL), member("other/x", b"1")])
    assert problems_of(data) == [FieldProblem("SKILL.md", "bundle has no SKILL.md at its root")]


def test_only_one_wrapper_level_is_stripped():
    data = targz([member("a/b/SKILL.md", SKILL)])
    assert problems_of(data) == [FieldProblem("SKILL.md", "bundle has no SKILL.md at its root")]


def test_names_are_normalised_to_nfc():
    nfd = unicodedata.normalize("NFD", "café.txt")
    bundle = read_bundle(skill_tar(member(nfd, b"x")))
    assert "café.txt" in bundle.files
    assert bundle.digest == read_bundle(skill_tar(member("café.txt", b"x"))).digest


# --- rejections: entries --------------------------------------------------------------------


@pytest.mark.usefixtures("no_disk_writes")
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (member("../x", b"evil"), "'..' path components are not allowed"),
        (member("a/../../x", b"evil"), "'..' path components are not allowed"),
        (member("/etc/passwd", b"evil"), "absolute paths are not allowed"),
        (
            member("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd"),
            "symbolic links are not allowed",
        ),
        (member("hard", kind=tarfile.LNKTYPE, linkname="SKILL.md"), "hard links are not allowed"),
        (member("tty", kind=tarfile.CHRTYPE), "character devices are not allowed"),
        (member("disk", kind=tarfile.BLKTYPE), "block devices are not allowed"),
        (member("pipe", kind=tarfile.FIFOTYPE), "fifos are not allowed"),
        (member(".git/config", b"[core]\n"), "'.git' entries are not allowed"),
        (member(".git/", kind=tarfile.DIRTYPE), "'.git' entries are not allowed"),
        (member("sub/.GIT/HEAD", b"ref"), "'.git' entries are not allowed"),
        (member("a\\b", b"x"), "name contains a backslash"),
        (member("a//b", b"x"), "empty or '.' path components are not allowed"),
        (member("a/./b", b"x"), "empty or '.' path components are not allowed"),
        (member("bell\x07", b"x"), "name contains a control character"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_entry_is_rejected(entry, message):
    name = entry[0].name.rstrip("/")  # tarfile drops a directory's trailing slash
    assert problems_of(skill_tar(entry)) == [FieldProblem(name, message)]


@pytest.mark.usefixtures("no_disk_writes")
def test_every_bad_entry_is_reported_at_once():
    data = skill_tar(
        member("../x", b"1"),
        member("ok.txt", b"fine"),
        member("/abs", b"2"),
        member("l", kind=tarfile.SYMTYPE, linkname="ok.txt"),
    )
    assert problems_of(data) == [
        FieldProblem("../x", "'..' path components are not allowed"),
        FieldProblem("/abs", "absolute paths are not allowed"),
        FieldProblem("l", "symbolic links are not allowed"),
    ]


@pytest.mark.usefixtures("no_disk_writes")
def test_invalid_utf8_name_is_rejected():
    # GNU format writes the raw bytes; tarfile hands them back as surrogates.
    data = skill_tar(member("bad\udcff.txt", b"x"), fmt=tarfile.GNU_FORMAT)
    assert problems_of(data) == [FieldProblem("bad\ufffd.txt", "name is not valid UTF-8")]


@pytest.mark.usefixtures("no_disk_writes")
@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("notes.txt", "notes.txt", "duplicate entry"),
        ("README.md", "readme.md", "collides with 'README.md'"),
        ("café", unicodedata.normalize("NFD", "café"), "duplicate entry"),
    ],
)
def test_colliding_entries_are_rejected(first, second, message):
    problems = problems_of(skill_tar(member(first, b"1"), member(second, b"2")))
    assert len(problems) == 1
    assert problems[0].path == second
    assert problems[0].message.startswith(message)


@pytest.mark.usefixtures("no_disk_writes")
def test_duplicate_skill_md_is_rejected():
    assert problems_of(skill_tar(member("SKILL.md", b"other"))) == [
        FieldProblem("SKILL.md", "duplicate entry")
    ]


@pytest.mark.usefixtures("no_disk_writes")
def test_file_used_as_directory_is_rejected():
    data = skill_tar(member("a", b"file"), member("a/b", b"under a file"))
    assert problems_of(data) == [FieldProblem("a/b", "'a' is a file, not a directory")]
    data = skill_tar(member("d", b"file"), member("d/", kind=tarfile.DIRTYPE))
    assert problems_of(data) == [FieldProblem("d", "collides with the file 'd'")]


@pytest.mark.usefixtures("no_disk_writes")
def test_missing_skill_md_is_rejected():
    assert problems_of(targz([member("README.md", b"hi")])) == [
        FieldProblem("SKILL.md", "bundle has no SKILL.md at its root")
    ]
    assert problems_of(targz([member("skill.md", SKILL)])) == [
        FieldProblem("SKILL.md", "bundle has no SKILL.md at its root")
    ]
    assert problems_of(targz([])) == [
        FieldProblem("SKILL.md", "bundle has no SKILL.md at its root")
    ]


# --- rejections: broken containers ------------------------------------------------------------


@pytest.mark.usefixtures("no_disk_writes")
def test_not_gzip_is_rejected():
    for data in (b"PK\x03\x04 a zip file", b"", raw_tar([member("SKILL.md", SKILL)])):
        assert problems_of(data) == [
            FieldProblem("", "bundle is not gzip-compressed (expected a .tar.gz)")
        ]


@pytest.mark.usefixtures("no_disk_writes")
def test_gzip_of_something_else_is_not_a_tar():
    (problem,) = problems_of(gzip.compress(b"just some text, not a tar archive\n" * 40))
    assert problem.path == ""
    assert problem.message.startswith("bundle is not a tar archive")


@pytest.mark.usefixtures("no_disk_writes")
def test_truncated_gzip_is_rejected():
    data = skill_tar(member("big.bin", os.urandom(50_000)))
    for cut in (len(data) // 2, len(data) - 4):
        assert problems_of(data[:cut]) == [
            FieldProblem("", "bundle is truncated: the gzip stream ends early")
        ]


@pytest.mark.usefixtures("no_disk_writes")
def test_corrupt_gzip_is_rejected():
    data = bytearray(skill_tar(member("big.bin", os.urandom(5_000))))
    data[-6] ^= 0xFF  # inside the CRC/size trailer
    (problem,) = problems_of(bytes(data))
    assert problem.message.startswith("bundle is not a valid gzip stream")


@pytest.mark.usefixtures("no_disk_writes")
def test_tar_truncated_inside_a_member_is_rejected():
    tar = raw_tar([member("SKILL.md", SKILL), member("data.bin", b"z" * 5000)])
    (problem,) = problems_of(gzip.compress(tar[:3000]))
    assert "truncated" in problem.message


@pytest.mark.usefixtures("no_disk_writes")
def test_tar_without_end_marker_is_rejected():
    # Cut exactly after the last member: tarfile alone would accept this silently.
    tar = raw_tar([member("SKILL.md", SKILL, mode=0o644)], fmt=tarfile.GNU_FORMAT)
    (problem,) = problems_of(gzip.compress(tar[:1024]))
    assert problem.message == "tar archive is truncated or corrupt: no end-of-archive marker"


@pytest.mark.usefixtures("no_disk_writes")
def test_garbage_header_after_first_member_is_rejected():
    tar = raw_tar([member("SKILL.md", SKILL)], fmt=tarfile.GNU_FORMAT)
    (problem,) = problems_of(gzip.compress(tar[:1024] + b"\x01" * 1024))
    assert "truncated or corrupt" in problem.message


@pytest.mark.usefixtures("no_disk_writes")
def test_malformed_pax_record_is_a_format_error():
    # tarfile itself lets a ValueError escape here.
    info, data = member("SKILL.md", SKILL)
    info.pax_headers = {"GNU.sparse.map": "1,x"}
    (problem,) = problems_of(targz([(info, data)]))
    assert problem.message.startswith("bundle is not a tar archive")


_FUZZ_BASE = raw_tar(
    [
        member("SKILL.md", SKILL),
        member("dir/" + "long" * 40 + ".txt", b"hello" * 10, mode=0o755),
        member("café.txt", b"x"),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(_FUZZ_BASE) - 1), st.integers(0, 255)), max_size=6),
    st.integers(0, len(_FUZZ_BASE)),
)
def test_corrupted_archives_only_ever_raise_format_error(flips, cut):
    raw = bytearray(_FUZZ_BASE)
    for position, value in flips:
        raw[position] = value
    outcome: Bundle | FormatError
    try:
        outcome = read_bundle(gzip.compress(bytes(raw[:cut]), 1))
    except FormatError as exc:  # anything else (ValueError, EOFError, ...) fails the test
        outcome = exc
    if isinstance(outcome, FormatError):
        assert outcome.problems
        assert all(isinstance(p, FieldProblem) and p.message for p in outcome.problems)
    else:
        assert "SKILL.md" in outcome.files


# --- rejections: limits ------------------------------------------------------------------------


@pytest.mark.usefixtures("no_disk_writes")
def test_too_many_files():
    data = skill_tar(*(member(f"f{i}", b"x") for i in range(5)))
    assert problems_of(data, SMALL) == [FieldProblem("", "bundle has more than 5 files")]


@pytest.mark.usefixtures("no_disk_writes")
def test_file_over_the_per_file_limit_stops_at_its_header():
    tar = raw_tar([member("SKILL.md", b"x"), member("big.bin", os.urandom(101)), member("../x")])
    # Cut inside big.bin's content: the header alone must be enough to refuse it,
    # and the bad path after it is never reached (limits stop reading at once).
    data = gzip.compress(tar[:1600])
    assert problems_of(data, SMALL) == [
        FieldProblem("big.bin", "file is 101 bytes; the limit is 100 bytes per file")
    ]


@pytest.mark.usefixtures("no_disk_writes")
def test_total_over_the_limit():
    data = targz([member("SKILL.md", b"x" * 100), member("a", b"a" * 100), member("b", b"b" * 51)])
    assert problems_of(data, SMALL) == [
        FieldProblem("", "bundle unpacks to more than 250 bytes in total")
    ]


@pytest.mark.usefixtures("no_disk_writes")
def test_compressed_over_the_limit():
    data = skill_tar(member("noise", os.urandom(5000)))
    limits = BundleLimits(max_compressed_bytes=len(data) - 1)
    assert problems_of(data, limits) == [
        FieldProblem("", f"bundle is {len(data)} bytes compressed; the limit is {len(data) - 1}")
    ]


@pytest.mark.usefixtures("no_disk_writes")
def test_too_many_directories():
    dirs = [member(f"d{i}/", kind=tarfile.DIRTYPE) for i in range(6)]
    assert problems_of(skill_tar(*dirs), SMALL) == [
        FieldProblem("d5", "bundle has more than 5 directories")
    ]


@pytest.fixture
def read_cost(monkeypatch) -> ReadCost:
    """Counts what reading a bundle costs: bytes decompressed and tar headers parsed."""
    cost = ReadCost()
    read_chunk = read_module._CappedGunzip.read
    parse_header = read_module._EndTrackingTarInfo.fromtarfile.__func__

    def counted_read(self, size: int = -1, /) -> bytes:
        chunk = read_chunk(self, size)
        cost.decompressed += len(chunk)
        return chunk

    def counted_header(cls, tar):
        cost.headers += 1
        return parse_header(cls, tar)

    monkeypatch.setattr(read_module._CappedGunzip, "read", counted_read)
    monkeypatch.setattr(read_module._EndTrackingTarInfo, "fromtarfile", classmethod(counted_header))
    return cost


@pytest.mark.usefixtures("no_disk_writes")
def test_hundred_thousand_tiny_files_stop_at_the_count_limit(read_cost):
    # Timed in bench/bench_bundle.py; here, what bounds the time: the entries visited.
    assert problems_of(hundred_thousand_tiny_files()) == [
        FieldProblem("", "bundle has more than 1000 files")
    ]
    limit = BundleLimits().max_files
    assert read_cost.headers <= limit + 2  # SKILL.md, the files up to the limit, one more
    # Each empty file is one 512-byte header; at most one chunk read past the last.
    assert read_cost.decompressed <= (limit + 3) * 512 + read_module._CHUNK


def test_gzip_bomb_builder_makes_valid_gzip():
    data = gzip_with_zeros(b"hello", 3 * 1024, chunk=1024)
    assert gzip.decompress(data) == b"hello" + bytes(3 * 1024)


@pytest.mark.usefixtures("no_disk_writes")
def test_gzip_bomb_after_the_archive_costs_nothing(read_cost):
    bomb = bomb_after_the_archive()
    tracemalloc.start()
    try:
        problems = problems_of(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    budget = BundleLimits().decompressed_budget()
    assert problems == [FieldProblem("", f"bundle decompresses to more than {budget} bytes")]
    # Decompression stops one chunk past the budget, never at the 4 GiB the stream holds.
    assert read_cost.decompressed <= budget + read_module._CHUNK
    assert peak < 64 * 1024**2


@pytest.mark.usefixtures("no_disk_writes")
def test_gzip_bomb_inside_a_header_costs_nothing(read_cost):
    (problem,) = problems_of(bomb_inside_a_header())
    assert problem.message.startswith("bundle decompresses to more than")
    assert read_cost.decompressed <= BundleLimits().decompressed_budget() + read_module._CHUNK
    assert read_cost.headers == 1  # the long-name header itself, never a member after it


# --- the digest -------------------------------------------------------------------------------


def test_digest_ignores_order_mtime_owner_format_and_compression():
    files = [
        ("SKILL.md", SKILL, 0o644),
        ("scripts/run.sh", b"#!/bin/sh\n", 0o755),
        ("b.txt", b"b", 0o600),
    ]
    one = targz([member(n, d, mode=m) for n, d, m in files], level=9)
    two = targz(
        [
            member(n, d, mode=m | 0o020, mtime=1_700_000_000, owner=1000)
            for n, d, m in reversed(files)
        ],
        level=1,
        fmt=tarfile.GNU_FORMAT,
    )
    three = targz([member(n, d, mode=m, mtime=42) for n, d, m in files[1:] + files[:1]], level=0)
    assert len({one, two, three}) == 3
    digests = {read_bundle(data).digest for data in (one, two, three)}
    assert len(digests) == 1
    assert digests == {compute_digest(build_manifest({n: (d, m == 0o755) for n, d, m in files}))}


def test_digest_changes_with_one_byte_or_the_exec_bit():
    base = read_bundle(skill_tar(member("run.sh", b"echo a\n", mode=0o644))).digest
    byte = read_bundle(skill_tar(member("run.sh", b"echo b\n", mode=0o644))).digest
    exe = read_bundle(skill_tar(member("run.sh", b"echo a\n", mode=0o744))).digest
    renamed = read_bundle(skill_tar(member("run2.sh", b"echo a\n", mode=0o644))).digest
    assert len({base, byte, exe, renamed}) == 4


# --- packing ----------------------------------------------------------------------------------


def test_pack_files_is_deterministic_and_canonical():
    files = {"SKILL.md": (SKILL, False), "z/run.sh": (b"#!/bin/sh\n", True), "a.txt": (b"a", False)}
    data = pack_files(files)
    assert data == pack_files(dict(reversed(list(files.items()))))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["SKILL.md", "a.txt", "z/run.sh"]
    assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)
    assert [m.mode for m in members] == [0o644, 0o644, 0o755]
    assert data[4:8] == b"\0\0\0\0"  # gzip mtime
    bundle = read_bundle(data)
    assert bundle.digest == compute_digest(build_manifest(files))


def test_pack_files_applies_the_same_rules():
    with pytest.raises(FormatError) as info:
        pack_files({"SKILL.md": (SKILL, False), "../x": (b"", False), ".git/HEAD": (b"", False)})
    assert info.value.problems == [
        FieldProblem("../x", "'..' path components are not allowed"),
        FieldProblem(".git/HEAD", "'.git' entries are not allowed"),
    ]
    with pytest.raises(FormatError, match=r"no SKILL\.md"):
        pack_files({"README.md": (b"hi", False)})
    with pytest.raises(FormatError, match="limit is 100 bytes per file"):
        pack_files({"SKILL.md": (b"x" * 101, False)}, SMALL)


def test_pack_directory_skips_git_and_keeps_exec_bit(tmp_path):
    root = tmp_path / "my-skill"
    (root / "scripts").mkdir(parents=True)
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "scripts" / ".git").write_text("gitdir: ../.git/modules/x\n")  # submodule pointer
    (root / "SKILL.md").write_bytes(SKILL)
    script = root / "scripts" / "run.sh"
    script.write_bytes(b"#!/bin/sh\n")
    script.chmod(0o755)
    (root / "empty").mkdir()
    bundle = read_bundle(pack_directory(root))
    assert bundle.files == {"SKILL.md": SKILL, "scripts/run.sh": b"#!/bin/sh\n"}
    assert [(e.path, e.mode) for e in bundle.manifest] == [
        ("SKILL.md", 0o644),
        ("scripts/run.sh", 0o755),
    ]


def test_pack_directory_refuses_symlinks_without_following(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("do not pack me")
    root = tmp_path / "skill"
    root.mkdir()
    (root / "SKILL.md").write_bytes(SKILL)
    (root / "to-file").symlink_to(outside / "secret")
    (root / "to-dir").symlink_to(outside, target_is_directory=True)
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FormatError) as info:
        pack_directory(root)
    assert info.value.problems == [
        FieldProblem("dangling", "symbolic links are not allowed"),
        FieldProblem("to-dir", "symbolic links are not allowed"),
        FieldProblem("to-file", "symbolic links are not allowed"),
    ]


def test_pack_directory_refuses_special_files(tmp_path):
    (tmp_path / "SKILL.md").write_bytes(SKILL)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FormatError) as info:
        pack_directory(tmp_path)
    assert info.value.problems == [
        FieldProblem("pipe", "special files (devices, fifos, sockets) are not allowed")
    ]


def test_pack_directory_checks_limits(tmp_path):
    (tmp_path / "SKILL.md").write_bytes(SKILL)
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(FormatError) as info:
        pack_directory(tmp_path, SMALL)
    assert info.value.problems == [
        FieldProblem("big", "file is 101 bytes; the limit is 100 bytes per file")
    ]


def test_pack_directory_of_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FormatError, match="is not a directory"):
        pack_directory(tmp_path / "f")


# --- extracting -------------------------------------------------------------------------------


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_extract_writes_files_and_exec_bit(tmp_path):
    bundle = read_bundle(
        pack_files({"SKILL.md": (SKILL, False), "bin/run": (b"#!/bin/sh\n", True)})
    )
    dest = tmp_path / "out" / "demo"
    extract_bundle(bundle, dest)
    assert (dest / "SKILL.md").read_bytes() == SKILL
    assert (dest / "bin" / "run").read_bytes() == b"#!/bin/sh\n"
    assert (dest / "bin" / "run").stat().st_mode & 0o100
    assert not (dest / "SKILL.md").stat().st_mode & 0o111
    assert tree(tmp_path) == [
        "out",
        "out/demo",
        "out/demo/SKILL.md",
        "out/demo/bin",
        "out/demo/bin/run",
    ]
    assert read_bundle(pack_directory(dest)).digest == bundle.digest


def test_extract_into_existing_empty_dir(tmp_path):
    bundle = read_bundle(pack_files({"SKILL.md": (SKILL, False)}))
    extract_bundle(bundle, tmp_path)
    assert tree(tmp_path) == ["SKILL.md"]


def test_extract_refuses_non_empty_destination(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    bundle = read_bundle(pack_files({"SKILL.md": (SKILL, False)}))
    with pytest.raises(FileExistsError, match="not empty"):
        extract_bundle(bundle, tmp_path)
    with pytest.raises(FileExistsError, match="not a directory"):
        extract_bundle(bundle, tmp_path / "keep.txt")
    assert tree(tmp_path) == ["keep.txt"]


def hand_made(files: dict[str, bytes], executable: frozenset[str] = frozenset()) -> Bundle:
    manifest = build_manifest({p: (c, p in executable) for p, c in files.items()})
    return Bundle(files, manifest, compute_digest(manifest), 0, sum(map(len, files.values())))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../escape", "'..' path components are not allowed"),
        ("a/../../escape", "'..' path components are not allowed"),
        ("/tmp/escape", "absolute paths are not allowed"),
        (".git/hooks/post-checkout", "'.git' entries are not allowed"),
        ("./SKILL2.md", "path is not canonical"),
    ],
)
def test_extract_refuses_escaping_paths_and_writes_nothing(tmp_path, path, message):
    dest = tmp_path / "dest"
    bundle = hand_made({"SKILL.md": SKILL, path: b"evil"})
    with pytest.raises(FormatError) as info:
        extract_bundle(bundle, dest)
    assert info.value.problems == [FieldProblem(path, message)]
    assert tree(tmp_path) == []


def test_extract_refuses_content_not_matching_the_manifest(tmp_path):
    good = hand_made({"SKILL.md": SKILL, "run": b"x"}, frozenset({"run"}))
    tampered = Bundle(
        {"SKILL.md": SKILL, "run": b"y"}, good.manifest, good.digest, 0, good.total_size
    )
    with pytest.raises(FormatError) as info:
        extract_bundle(tampered, tmp_path / "d")
    assert info.value.problems == [
        FieldProblem("run", "content or mode does not match the manifest")
    ]
    missing = Bundle({"SKILL.md": SKILL}, good.manifest, good.digest, 0, good.total_size)
    with pytest.raises(FormatError) as info:
        extract_bundle(missing, tmp_path / "d")
    assert info.value.problems == [FieldProblem("run", "listed in the manifest but has no content")]
    assert tree(tmp_path) == []


def test_extract_cleans_up_after_a_failure(tmp_path, monkeypatch):
    bundle = read_bundle(pack_files({"SKILL.md": (SKILL, False), "z/late": (b"x", False)}))
    real_open = os.open

    def failing_open(path, *args, **kwargs):
        if str(path).endswith("late"):
            raise OSError(28, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(OSError, match="No space left"):
        extract_bundle(bundle, tmp_path / "dest")
    assert tree(tmp_path) == []


# --- property: pack -> read -> pack is stable ---------------------------------------------------

_component = st.text(alphabet="abcxyz019-_.éü ", min_size=1, max_size=6).filter(
    lambda part: part not in (".", "..") and part.strip() == part
)
_paths = st.lists(_component, min_size=1, max_size=3).map("/".join)
_trees = st.dictionaries(_paths, st.tuples(st.binary(max_size=64), st.booleans()), max_size=6)


def _portable(paths: list[str]) -> bool:
    keys = {p.casefold() for p in paths}
    if len(keys) != len(paths):
        return False
    return not any(key.startswith(other + "/") for key in keys for other in keys)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(_trees, st.binary(min_size=1, max_size=64))
def test_pack_read_pack_round_trip(files, skill):
    files = {**files, "SKILL.md": (skill, False)}
    assume(_portable(list(files)))
    first = pack_files(files)
    bundle = read_bundle(first)
    assert bundle.files == {p: c for p, (c, _) in sorted(files.items())}
    assert bundle.digest == compute_digest(build_manifest(files))
    again = pack_files({e.path: (bundle.files[e.path], e.mode == 0o755) for e in bundle.manifest})
    assert again == first
    assert read_bundle(again).digest == bundle.digest
