"""Backups round-trip on both backends, taken from a registry that is serving and writing.

A real all-in-one process holds users, API keys, a source and published bundles; the
backup command runs while a client keeps publishing; the archive is restored into a
fresh database; a second real process on the restored database must then serve every
bundle with its digest, sign every user in, accept every key and list every source.
The refusals (non-empty target, unknown schema, damaged archive) are checked on the
same archive.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import pytest
from skreg_common.backup.manifest import MANIFEST, Manifest
from skreg_proto.bundle import read_bundle

from tests.conftest import create_pg_database, drop_pg_database
from tests.support.factories import (
    AUTH,
    SOURCES,
    bearer,
    create_api_key,
    new_user,
    publish_bundle,
    publish_skill,
    sign_in,
    skill_bundle,
)
from tests.support.processes import (
    Process,
    free_port,
    make_run_env,
    start_python_module,
    wait_http,
)

# Explicit secrets for PostgreSQL (else the process would keep them in the working
# directory); SQLite keeps its own beside the file, which the archive carries.
PG_SECRETS = {"SECRET_KEY": "k" * 40, "SERVICE_SECRET": "s" * 40}
CLI_TIMEOUT = 120


@dataclass
class Written:
    """What the registry held before the backup, to look for after the restore."""

    users: dict[str, str] = field(default_factory=dict)  # username -> password
    keys: dict[str, str] = field(default_factory=dict)  # key secret -> username
    versions: dict[tuple[str, str, str], str] = field(default_factory=dict)  # -> digest
    sources: dict[str, str] = field(default_factory=dict)  # id -> url
    during: dict[tuple[str, str, str], str] = field(default_factory=dict)


@pytest.fixture
def fresh_database(backend: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases of the backend under test (dropped afterwards)."""
    made: list[str] = []

    def make(name: str) -> str:
        if backend == "sqlite":
            folder = tmp_path / name
            folder.mkdir()
            return f"sqlite:///{folder / 'registry.db'}"
        dsn = asyncio.run(create_pg_database("skreg_backup"))
        made.append(dsn)
        return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    yield make
    for dsn in made:
        asyncio.run(drop_pg_database(dsn))


def _serve(name: str, database_url: str, backend: str, logs: Path) -> tuple[Process, str]:
    port = free_port()
    secrets = PG_SECRETS if backend == "postgresql" else {}
    env = make_run_env(
        logs,
        port,
        DATABASE_URL=database_url,
        AUTO_MIGRATE="true",
        IMPORTER_ALLOW_LOCAL="true",
        PUBLISH_RATE_LIMIT="0",
        **secrets,
    )
    process = start_python_module(name, "skreg_gateway", env, logs)
    base = f"http://127.0.0.1:{port}"
    wait_http(process, f"{base}/ready", timeout=60)
    return process, base


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skreg_common.backup", *args],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "ENVIRONMENT": "dev"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


async def _fill(client: httpx.AsyncClient) -> Written:
    written = Written()
    for username in ("alice", "bob"):
        user = await new_user(client, username)
        written.users[username] = user.password
        key = await create_api_key(client, user.headers, ["read", "publish"])
        written.keys[key["key"]] = username
        for index in range(3):
            name = f"{username}-skill-{index}"
            version = await publish_skill(client, name, "1.0.0", user.headers, body=f"# {name}\n")
            where = (version["namespace"], version["name"], version["version"])
            written.versions[where] = version["digest"]
    admin = await sign_in(client, "admin", "admin123")
    source = await client.post(
        SOURCES,
        json={
            "url": "file:///srv/skills.git",
            "namespace": "alice",
            "enabled": False,
            "webhook_secret": "w" * 32,
        },
        headers=bearer(admin["access_token"]),
    )
    assert source.status_code == 201, source.text
    written.sources[source.json()["id"]] = source.json()["url"]
    return written


async def _publish_while(client: httpx.AsyncClient, written: Written, stop: asyncio.Event) -> None:
    """Keep publishing new versions until `stop`: the backup must be consistent anyway."""
    alice = await sign_in(client, "alice", written.users["alice"])
    headers = bearer(alice["access_token"])
    patch = 0
    while not stop.is_set() and patch < 500:
        patch += 1
        data = skill_bundle("busy", body=f"# busy {patch}\n", version=f"2.0.{patch}")
        response = await publish_bundle(client, data, headers)
        assert response.status_code == 201, response.text
        body = response.json()
        written.during[(body["namespace"], body["name"], body["version"])] = body["digest"]


async def _backup_while_writing(base: str, database_url: str, archive: Path) -> Written:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        written = await _fill(client)
        stop = asyncio.Event()
        writer = asyncio.create_task(_publish_while(client, written, stop))
        await asyncio.sleep(0.3)  # writes under way before the backup starts
        result = await asyncio.to_thread(_cli, database_url, "create", "--output", str(archive))
        stop.set()
        await writer
    assert result.returncode == 0, result.stderr
    assert written.during, "no publish happened while the backup ran"
    return written


async def _verify(base: str, written: Written) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        restored = {**written.versions}
        for (namespace, name, version), digest in restored.items():
            path = f"/api/v1/skills/{namespace}/{name}/versions/{version}/download"
            response = await client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert read_bundle(response.content).digest == digest
        for username, password in written.users.items():
            await sign_in(client, username, password)
        for key, username in written.keys.items():
            me = await client.get(f"{AUTH}/me", headers=bearer(key))
            assert me.status_code == 200, me.text
            assert me.json()["username"] == username
        admin = await sign_in(client, "admin", "admin123")
        listed = await client.get(SOURCES, headers=bearer(admin["access_token"]))
        assert listed.status_code == 200, listed.text
        found = {s["id"]: s["url"] for s in listed.json()["items"]}
        assert found == written.sources
        # What was published during the backup: each version restored is intact.
        busy = await client.get("/api/v1/skills/alice/busy/versions")
        if busy.status_code == 200:
            for item in busy.json()["items"]:
                assert written.during[("alice", "busy", item["version"])] == item["digest"]


def _rewrite_manifest(archive: Path, target: Path, **changes: object) -> None:
    """A copy of `archive` whose manifest says something else."""
    with tarfile.open(archive, "r:*") as source, tarfile.open(target, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member)
            assert data is not None
            body = data.read()
            if member.name == MANIFEST:
                manifest = msgspec.json.decode(body, type=Manifest)
                body = msgspec.json.encode(msgspec.structs.replace(manifest, **changes))
                member.size = len(body)
            out.addfile(member, io.BytesIO(body))


def test_backup_while_serving_restores_everything(
    backend: str, fresh_database: Callable[[str], str], tmp_path: Path
) -> None:
    source_url = fresh_database("source")
    archive = tmp_path / "registry-backup.tar"
    process, base = _serve("source", source_url, backend, tmp_path)
    try:
        written = asyncio.run(_backup_while_writing(base, source_url, archive))
    finally:
        process.stop()
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    target_url = fresh_database("target")
    restored = _cli(target_url, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert "every count checked" in restored.stdout
    if backend == "sqlite":
        target_file = Path(target_url.removeprefix("sqlite:///"))
        with sqlite3.connect(target_file) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (target_file.parent / ".skreg-secrets.json").exists()

    process, base = _serve("restored", target_url, backend, tmp_path)
    try:
        asyncio.run(_verify(base, written))
    finally:
        process.stop()

    # The target now holds data: a second restore refuses, unless forced.
    again = _cli(target_url, "restore", str(archive))
    assert again.returncode == 3, again.stdout + again.stderr
    assert "--force" in again.stderr
    forced = _cli(target_url, "restore", "--force", str(archive))
    assert forced.returncode == 0, forced.stderr

    # An archive from a release this one does not know: refused unless told.
    manifest = msgspec.json.decode(
        subprocess.run(
            [sys.executable, "-m", "skreg_common.backup", "inspect", str(archive)],
            capture_output=True,
            check=True,
            timeout=CLI_TIMEOUT,
        ).stdout,
        type=Manifest,
    )
    assert manifest.backend == backend
    assert manifest.schema["catalog"]
    assert manifest.schema["auth"]
    newer = tmp_path / "newer.tar"
    _rewrite_manifest(archive, newer, schema={**manifest.schema, "catalog": ["ffff00000000"]})
    empty_url = fresh_database("empty")
    refused = _cli(empty_url, "restore", str(newer))
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "ffff00000000" in refused.stderr

    # A damaged member is caught before the target is touched.
    damaged = tmp_path / "damaged.tar"
    bad_digests = dict.fromkeys(manifest.members, "0" * 64)
    _rewrite_manifest(archive, damaged, members=bad_digests)
    broken = _cli(empty_url, "restore", str(damaged))
    assert broken.returncode == 1
    assert "damaged" in broken.stderr

    # A freshly migrated database (the compose `migrate` job ran) has nothing to lose.
    migrate = subprocess.run(
        [sys.executable, "-m", "skreg_common.migrate", "upgrade"],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": empty_url, "ENVIRONMENT": "dev"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    into_migrated = _cli(empty_url, "restore", str(archive))
    assert into_migrated.returncode == 0, into_migrated.stderr


def test_the_schedule_backs_up_and_keeps_the_newest(tmp_path: Path) -> None:
    database = tmp_path / "registry.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('kept')")
    folder = tmp_path / "backups"
    folder.mkdir()
    older = [folder / f"skreg-sqlite-2020010{day}T000000Z.tar.gz" for day in (1, 2)]
    for path in older:
        path.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "skreg_common.backup", "schedule", "--count", "1"],
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{database}",
            "BACKUP_DIR": str(folder),
            "BACKUP_KEEP": "2",
        },
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 2
    assert older[0].name not in kept  # the oldest went
    assert older[1].name in kept
    newest = folder / kept[-1]
    inspected = subprocess.run(
        [sys.executable, "-m", "skreg_common.backup", "inspect", str(newest)],
        capture_output=True,
        check=True,
        timeout=CLI_TIMEOUT,
    )
    assert msgspec.json.decode(inspected.stdout, type=Manifest).row_counts["notes"] == 1
