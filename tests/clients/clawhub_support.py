"""Helpers for the ClawHub tests: the real `clawhub` CLI and skills published over our API."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
from skreg_proto.bundle import pack_files, read_bundle

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User
from tests.support.node_clients import CACHE, NodeClient

# V8's code cache for the CLI's modules: each run then starts in less CPU time.
COMPILE_CACHE = CACHE / "compile-cache"


@dataclass
class ClawHub:
    """The real `clawhub` CLI pointed at one registry, with its own HOME."""

    client: NodeClient
    registry: RegistryServer
    home: Path

    @property
    def base(self) -> str:
        """The ClawHub API base of the registry."""
        return f"{self.registry.url}/clawhub"

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`clawhub --registry <base> ARGS` (some failures exit 0: callers check the output)."""
        return self.client.run(
            "--registry", self.base, *args, home=self.home, cwd=cwd, env=self.env
        )

    @property
    def env(self) -> dict[str, str]:
        """What every run adds to the client's environment."""
        return {"NODE_COMPILE_CACHE": str(COMPILE_CACHE)}

    def ok(self, *args: str, cwd: Path | None = None) -> str:
        """Run and insist on success; stdout and stderr together."""
        done = self.run(*args, cwd=cwd)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        return output


def skill_md(name: str, version: str, note: str = "") -> bytes:
    """A valid SKILL.md."""
    return (
        f"---\nname: {name}\ndescription: Converts PDF files for tests.\n"
        f"metadata:\n  version: {version}\n---\n# {name}\n\nUse it.\n{note}"
    ).encode()


def bundle_files(name: str, version: str) -> dict[str, tuple[bytes, bool]]:
    """The files of one test skill: a script, nested files, a name that sorts oddly."""
    return {
        "SKILL.md": (skill_md(name, version, f"v{version}\n"), False),
        "scripts/run.sh": (b"#!/bin/sh\necho hello\n", True),
        "references/Guide.md": (f"# Guide {version}\n".encode(), False),
        "assets/logo.bin": (bytes(range(256)), False),
    }


def publish_bundle(registry: RegistryServer, user: User, name: str, version: str) -> bytes:
    """Publish a test skill over our own API as `user`; returns the bundle's bytes."""
    data = pack_files(bundle_files(name, version))
    response = httpx.post(
        f"{registry.url}/api/v1/skills",
        content=data,
        headers={"Authorization": f"Bearer {user.key}", "Content-Type": "application/gzip"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return data


def files_of(bundle: bytes) -> dict[str, bytes]:
    """The files in a bundle."""
    return dict(read_bundle(bundle).files)


def files_under(root: Path) -> dict[str, bytes]:
    """Every file under `root` except the CLI's own `.clawhub/` bookkeeping."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".clawhub" not in path.relative_to(root).parts
    }
