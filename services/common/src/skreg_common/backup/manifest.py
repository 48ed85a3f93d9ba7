"""The archive's manifest and the tar file around it."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

FORMAT = "skreg-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024

Backend = Literal["postgresql", "sqlite"]


class BackupError(Exception):
    """A backup or restore that must stop, with a reason an operator can act on."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What an archive holds; `schema` maps each service to its Alembic revisions."""

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    backend: Backend
    created_at: dt.datetime
    schema: dict[str, list[str]]
    row_counts: dict[str, int]
    # member name -> SHA-256 (hex) of its bytes as stored in the tar
    members: dict[str, str]


def sha256_of(path: Path) -> str:
    """The SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_archive(target: Path, manifest: Manifest, files: Mapping[str, Path]) -> None:
    """Write `files` and the manifest to `target` atomically, readable by its owner only.

    SQLite archives are gzip-compressed; a PostgreSQL custom dump is compressed already.
    """
    compress = manifest.backend == "sqlite"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with (
        os.fdopen(fd, "wb") as raw,
        tarfile.open(fileobj=raw, mode="w:gz")
        if compress
        else tarfile.open(fileobj=raw, mode="w") as tar,
    ):
        body = msgspec.json.format(msgspec.json.encode(manifest))
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        info.mtime = int(manifest.created_at.timestamp())
        info.mode = 0o600
        tar.addfile(info, io.BytesIO(body))
        for name, path in files.items():
            tar.add(path, arcname=name, recursive=False)
    partial.replace(target)


def read_manifest(archive: Path) -> Manifest:
    """The manifest of `archive`, or a BackupError saying why it is not one of ours."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise BackupError(f"{archive}: no {MANIFEST}; not a registry backup")
            manifest = msgspec.json.decode(member.read(), type=Manifest)
    except (OSError, tarfile.TarError, KeyError) as exc:
        raise BackupError(f"{archive}: not a readable registry backup ({exc})") from exc
    except msgspec.ValidationError as exc:
        raise BackupError(f"{archive}: its {MANIFEST} is not valid ({exc})") from exc
    if manifest.format != FORMAT or manifest.format_version > FORMAT_VERSION:
        raise BackupError(
            f"{archive}: format {manifest.format} v{manifest.format_version} is not one this "
            f"release reads ({FORMAT} v{FORMAT_VERSION} or older)"
        )
    return manifest


def extract_verified(archive: Path, manifest: Manifest, into: Path) -> dict[str, Path]:
    """Extract every member the manifest lists into `into`, checking each one's SHA-256."""
    extracted: dict[str, Path] = {}
    with tarfile.open(archive, "r:*") as tar:
        for name, expected in manifest.members.items():
            source = tar.extractfile(name) if name in tar.getnames() else None
            if source is None:
                raise BackupError(f"{archive}: member {name} is missing")
            destination = into / name
            digest = hashlib.sha256()
            with destination.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected:
                raise BackupError(f"{archive}: member {name} is damaged (SHA-256 differs)")
            extracted[name] = destination
    return extracted
