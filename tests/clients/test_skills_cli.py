"""The real `skills` CLI (npm, pinned) lists and installs from the registry's discovery index.

One all-in-one registry process per backend for the whole module; every test works in
namespaces of its own (users registered here), so tests never see each other's skills
except in the whole-registry listing, which only checks for what it published.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from skreg_proto.bundle import pack_files, read_bundle

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, register, yank
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support.node_clients import REPO, SKILLS_VERSION, NodeClient, install_client

README = (REPO / "README.md").read_text()


@pytest.fixture(scope="module")
def skills() -> NodeClient:
    """The real `skills` CLI at its pinned version."""
    return install_client("skills", SKILLS_VERSION)


@pytest.fixture(scope="module", params=BACKENDS)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """One registry process on a fresh database of each backend."""
    workdir = tmp_path_factory.mktemp("skills-cli-registry")
    dsn = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'registry.db'}"
    else:
        dsn = asyncio.run(create_pg_database("skreg_skills_cli"))
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    server = RegistryServer(url, workdir).start()
    try:
        yield server
    finally:
        server.stop()
        if dsn is not None:
            asyncio.run(drop_pg_database(dsn))


def _skill_files(name: str, marker: str = "") -> dict[str, tuple[bytes, bool]]:
    skill_md = (
        f"---\nname: {name}\ndescription: The {name} skill, for the skills CLI test.\n---\n"
        f"# {name}\n\nUse it well.{marker}\n"
    )
    return {
        "SKILL.md": (skill_md.encode(), False),
        "scripts/run.sh": (b"#!/bin/sh\necho run\n", True),
        "references/deep/notes.md": ("Notes: caf\u00e9 \u2713\n".encode(), False),
        "assets/blob.bin": (bytes(range(256)) * 4, False),
    }


def _publish(
    registry: RegistryServer, user: User, name: str, version: str, marker: str = ""
) -> bytes:
    data = pack_files(_skill_files(name, marker))
    response = httpx.post(
        f"{registry.url}/api/v1/skills",
        content=data,
        params={"version": version},
        headers={"Authorization": f"Bearer {user.key}", "Content-Type": "application/gzip"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return data


def _user(registry: RegistryServer) -> User:
    return register(registry.url, "ns" + uuid.uuid4().hex[:10])


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_list_whole_registry_and_one_namespace_with_shared_names_prefixed(
    skills: NodeClient, registry: RegistryServer, tmp_path: Path
) -> None:
    alpha, beta = _user(registry), _user(registry)
    _publish(registry, alpha, "greet-alpha", "1.0.0")
    _publish(registry, alpha, "notes-alpha", "1.0.0")
    _publish(registry, beta, "lint-beta", "2.0.0")
    whole = skills.run("add", registry.url, "--list", home=tmp_path)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    for name in ("greet-alpha", "notes-alpha", "lint-beta"):
        assert name in whole.stdout, whole.stdout
    assert "The lint-beta skill, for the skills CLI test." in whole.stdout
    scoped = skills.run("add", f"{registry.url}/ns/{beta.username}", "--list", home=tmp_path)
    assert scoped.returncode == 0, scoped.stdout + scoped.stderr
    assert "lint-beta" in scoped.stdout
    assert "greet-alpha" not in scoped.stdout
    assert "notes-alpha" not in scoped.stdout
    # A name two namespaces hold: `<namespace>-<name>` in the whole-registry index, which is
    # the folder the client installs it as; plain in each namespace's own index.
    twin = _publish(registry, alpha, "twin", "1.0.0")
    _publish(registry, beta, "twin", "1.0.0")
    listed = skills.run("add", registry.url, "--list", home=tmp_path).stdout
    assert f"{alpha.username}-twin" in listed
    assert f"{beta.username}-twin" in listed
    project = tmp_path / "project"
    project.mkdir()
    args = ("--skill", f"{alpha.username}-twin", "--agent", "claude-code", "--copy", "-y")
    done = skills.run("add", registry.url, *args, home=tmp_path, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    installed = project / ".claude" / "skills" / f"{alpha.username}-twin"
    assert _files(installed) == read_bundle(twin).files
    scoped_twin = skills.run("add", f"{registry.url}/ns/{beta.username}", "--list", home=tmp_path)
    assert "twin" in scoped_twin.stdout
    assert f"{beta.username}-twin" not in scoped_twin.stdout
    unknown = skills.run("add", f"{registry.url}/ns/nobody-here", "--list", home=tmp_path)
    assert unknown.returncode != 0
    assert (
        "No skills found for the scoped path '/ns/nobody-here'" in unknown.stdout + unknown.stderr
    )


def test_add_installs_files_byte_identical_to_the_bundle(
    skills: NodeClient, registry: RegistryServer, tmp_path: Path
) -> None:
    author = _user(registry)
    published = _publish(registry, author, "install-me", "1.0.0")
    project = tmp_path / "project"
    project.mkdir()
    done = skills.run(
        "add",
        f"{registry.url}/ns/{author.username}",
        "--skill",
        "install-me",
        "--agent",
        "claude-code",
        "--copy",
        "-y",
        home=tmp_path,
        cwd=project,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    installed = project / ".claude" / "skills" / "install-me"
    # Bytes, not modes: this client writes every file without its mode bits.
    assert _files(installed) == read_bundle(published).files


def test_a_yanked_latest_leaves_the_index(
    skills: NodeClient, registry: RegistryServer, tmp_path: Path
) -> None:
    author = _user(registry)
    _publish(registry, author, "fleeting", "1.0.0", marker=" v1")
    _publish(registry, author, "fleeting", "2.0.0", marker=" v2")
    _publish(registry, author, "staying", "1.0.0")
    source = f"{registry.url}/ns/{author.username}"
    yank(registry.url, author, f"{author.username}/fleeting", "2.0.0")
    project = tmp_path / "project"
    project.mkdir()
    args = ("--skill", "fleeting", "--agent", "claude-code", "--copy", "-y")
    done = skills.run("add", source, *args, home=tmp_path, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    skill_md = (project / ".claude" / "skills" / "fleeting" / "SKILL.md").read_text()
    assert "Use it well. v1" in skill_md  # the latest that is left, not the yanked 2.0.0
    yank(registry.url, author, f"{author.username}/fleeting", "1.0.0")
    listed = skills.run("add", source, "--list", home=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "staying" in listed.stdout
    assert "fleeting" not in listed.stdout


def _readme_block() -> str:
    section = README.split("## Use the registry from other clients", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    (block,) = [b for b in blocks if "npx skills add" in b]
    return block


def test_the_readme_client_commands_run_as_written(
    skills: NodeClient, registry: RegistryServer, tmp_path: Path
) -> None:
    """The README's block, with this registry's port and the pinned client standing in for
    `npx skills` (npx would fetch the newest from npm); each line in one shell, in order."""
    owner = register(registry.url, "team")  # the namespace the README's URLs name
    data = pack_files(_skill_files("hello"))
    response = httpx.post(
        f"{registry.url}/api/v1/skills",
        content=data,
        params={"version": "1.0.0"},
        headers={"Authorization": f"Bearer {owner.key}", "Content-Type": "application/gzip"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    block = _readme_block().replace("http://127.0.0.1:8000", registry.url)
    block = block.replace("npx skills", " ".join(shlex.quote(a) for a in skills.argv()))
    project = tmp_path / "project"
    project.mkdir()
    env = skills.env(tmp_path, SKREG_CONFIG_DIR=str(tmp_path / "skreg-config"))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `skreg`
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", block],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    files = read_bundle(data).files
    assert _files(project / ".claude" / "skills" / "hello") == files
    assert _files(project / ".agents" / "skills" / "hello") == files
    assert "127.0.0.1_" in (project / "skreg.lock").read_text()
