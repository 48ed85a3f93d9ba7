"""`skreg install https://…`: skills from another origin's discovery index, locked with it.

skreg is signed in to the CLI tests' registry; the origin is a second real registry
process (module-wide, on the same backend) serving the Agent Skills discovery index.
Nothing about an index skill may go to the first one, and no credential to the origin.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from skreg_cli.errors import ExitCode
from skreg_proto.bundle import pack_files, read_bundle

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import FakeRegistry, Reply, User, fake_registry, register, run, unique
from tests.conftest import create_pg_database, drop_pg_database

SCHEMA = "https://schemas.agentskills.io/discovery/0.2.0/schema.json"


@pytest.fixture(scope="module")
def origin(
    registry_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """A second registry, the origin whose index skreg reads."""
    workdir = tmp_path_factory.mktemp("origin-registry")
    dsn = None
    if registry_backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'origin.db'}"
    else:
        dsn = asyncio.run(create_pg_database("skreg_origin"))
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    server = RegistryServer(url, workdir).start()
    try:
        yield server
    finally:
        server.stop()
        if dsn is not None:
            asyncio.run(drop_pg_database(dsn))


def _files(name: str, marker: str) -> dict[str, tuple[bytes, bool]]:
    skill_md = f"---\nname: {name}\ndescription: From another origin.\n---\n# {name}\n{marker}\n"
    return {
        "SKILL.md": (skill_md.encode(), False),
        "scripts/run.sh": (b"#!/bin/sh\necho run\n", True),
        "references/notes.md": (b"notes\n", False),
    }


def _publish(origin: RegistryServer, user: User, name: str, version: str) -> bytes:
    data = pack_files(_files(name, f"release {version}"))
    response = httpx.post(
        f"{origin.url}/api/v1/skills",
        content=data,
        params={"version": version},
        headers={"Authorization": f"Bearer {user.key}", "Content-Type": "application/gzip"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return data


def _tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), bool(p.stat().st_mode & stat.S_IXUSR))
        for p in root.rglob("*")
        if p.is_file()
    }


def test_install_frozen_and_update_from_another_registrys_index(
    origin: RegistryServer, signed_in: User, isolated: Path
) -> None:
    publisher = register(origin.url, unique("pub").replace("-", ""))
    first = _publish(origin, publisher, "tool", "1.0.0")
    _publish(origin, publisher, "other", "1.0.0")
    source = f"{origin.url}/ns/{publisher.username}"
    # Several skills listed: skreg never guesses which one.
    ambiguous = run("install", source, "--agent", "claude")
    assert ambiguous.exit_code == ExitCode.USAGE, ambiguous.output
    assert "--skill" in ambiguous.output
    assert "other, tool" in ambiguous.output

    done = run("install", source, "--skill", "tool", "--agent", "claude")
    assert done.exit_code == 0, done.output
    copy = isolated / ".claude" / "skills" / "tool"
    assert _tree(copy) == dict(_files("tool", "release 1.0.0"))  # bytes and exec bits
    key = f"127.0.0.1_{origin.port}/tool"
    locked = json.loads((isolated / "skreg.lock").read_text())["skills"][key]
    index_url = f"{source}/.well-known/agent-skills/index.json"
    assert locked["index"] == index_url
    assert locked["registry"] == origin.url  # not the registry skreg is signed in to
    assert locked["digest"] == read_bundle(first).digest
    archive = httpx.get(locked["source"], timeout=30).content
    assert locked["archive_digest"] == "sha256:" + hashlib.sha256(archive).hexdigest()

    # --frozen: the same install changes nothing; from the lock alone it puts files back.
    same = run("install", source, "--skill", "tool", "--agent", "claude", "--frozen")
    assert same.exit_code == 0, same.output
    shutil.rmtree(copy)
    restored = run("install", "--frozen")
    assert restored.exit_code == 0, restored.output
    assert _tree(copy) == dict(_files("tool", "release 1.0.0"))

    # A new version on the origin: `list` sees it, `update` installs it, the lock follows.
    _publish(origin, publisher, "tool", "1.1.0")
    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    (status,) = json.loads(listed.stdout)["skills"]
    assert "outdated" in status["marks"]
    stale = run("install", source, "--skill", "tool", "--agent", "claude", "--frozen")
    assert stale.exit_code == ExitCode.CONFLICT, stale.output
    pinned = run("update", "tool@1.1.0")
    assert pinned.exit_code == ExitCode.USAGE, pinned.output
    assert "no versions" in pinned.output
    updated = run("update")
    assert updated.exit_code == 0, updated.output
    assert _tree(copy) == dict(_files("tool", "release 1.1.0"))
    relocked = json.loads((isolated / "skreg.lock").read_text())["skills"][key]
    assert relocked["archive_digest"] != locked["archive_digest"]
    assert relocked["source"].endswith("/tool/1.1.0.zip")
    assert run("install", "--frozen").exit_code == 0
    removed = run("remove", "tool")
    assert removed.exit_code == 0, removed.output
    assert not copy.exists()


def _serve_index(fake: FakeRegistry, archive: bytes, digest: str) -> None:
    entry = {
        "name": "tampered",
        "type": "archive",
        "description": "Not what the index promised.",
        "url": "/files/tampered.zip",
        "digest": digest,
    }
    fake.routes[("GET", "/.well-known/agent-skills/index.json")] = Reply.json(
        {"$schema": SCHEMA, "skills": [entry]}
    )
    fake.routes[("GET", "/files/tampered.zip")] = Reply(
        200, archive, {"Content-Type": "application/zip"}
    )


def test_an_archive_that_does_not_match_its_digest_is_refused(
    origin: RegistryServer, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = register(origin.url, unique("pub").replace("-", ""))
    _publish(origin, publisher, "tampered", "1.0.0")
    index = httpx.get(f"{origin.url}/ns/{publisher.username}/.well-known/agent-skills/index.json")
    (entry,) = index.json()["skills"]
    genuine = httpx.get(origin.url + entry["url"]).content
    with fake_registry() as fake:
        # The genuine archive with one byte changed, under the genuine archive's digest.
        _serve_index(fake, genuine[:-1] + bytes([genuine[-1] ^ 1]), entry["digest"])
        # Even with skreg signed in to the very same address, the origin gets no credential.
        monkeypatch.setenv("SKREG_URL", fake.url)
        monkeypatch.setenv("SKREG_TOKEN", publisher.key)
        refused = run("install", fake.url, "--agent", "claude")
        sent = [name.lower() for _, _, headers in fake.seen for name in headers]
    assert refused.exit_code == ExitCode.INTEGRITY, refused.output
    assert "digest mismatch" in refused.output
    assert entry["digest"] in refused.output
    assert not (isolated / ".claude").exists()
    assert not (isolated / "skreg.lock").exists()
    assert "authorization" not in sent
    assert os.listdir(isolated) == []


def test_tar_gz_and_skill_md_artifacts_install_too(isolated: Path) -> None:
    bundle = pack_files(_files("packed", "tarball"))
    lone = b"---\nname: lone\ndescription: Only a SKILL.md.\n---\nJust this.\n"
    entries = [
        ("packed", "archive", "/a/packed.tar.gz", bundle),
        ("lone", "skill-md", "/a/lone/SKILL.md", lone),
    ]
    with fake_registry() as fake:
        listed = []
        for name, kind, url, data in entries:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            listed.append(
                {"name": name, "type": kind, "description": "d", "url": url, "digest": digest}
            )
            fake.routes[("GET", url)] = Reply(200, data)
        # The legacy path only: skreg tries it after .well-known/agent-skills, as npx skills does.
        fake.routes[("GET", "/team/.well-known/skills/index.json")] = Reply.json(
            {"$schema": SCHEMA, "skills": listed}
        )
        done = run(
            "install",
            f"{fake.url}/team",
            "--skill",
            "packed",
            "--skill",
            "lone",
            "--agent",
            "claude",
        )
    assert done.exit_code == 0, done.output
    skills = isolated / ".claude" / "skills"
    assert _tree(skills / "packed") == dict(_files("packed", "tarball"))
    assert (skills / "lone" / "SKILL.md").read_bytes() == lone
    # The lock is untrusted input: an index entry's version must be its archive's digest.
    lock_path = isolated / "skreg.lock"
    lock = json.loads(lock_path.read_text())
    (key,) = [k for k in lock["skills"] if k.endswith("/lone")]
    lock["skills"][key]["version"] = "1.0.0"
    lock_path.write_text(json.dumps(lock))
    refused = run("list", "--offline")
    assert refused.exit_code != 0
    assert "does not match the archive digest" in refused.output
