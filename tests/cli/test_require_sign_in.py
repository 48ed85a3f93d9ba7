"""The README's "Requiring sign-in" block, run as written against a served registry
started with `REQUIRE_SIGN_IN=true` (only its address differs)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import register

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.fixture
def closed_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    """A registry of its own (SQLite: the backends have tests/gateway/test_require_sign_in.py)
    that answers only signed-in callers."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'closed.db'}"
    server = RegistryServer(database, tmp_path, settings={"REQUIRE_SIGN_IN": "true"})
    server.start()
    yield server
    server.stop()


def test_the_readme_block_answers_401_then_200(closed_registry: RegistryServer) -> None:
    section = README.split("## Requiring sign-in", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    user = register(closed_registry.url)  # registration and sign-in stay open
    env = {**os.environ, "SKREG_TOKEN": user.key}
    for line in block.strip().splitlines():
        command, expected = line.rsplit("#", 1)
        command = command.replace("http://127.0.0.1:8000", closed_registry.url)
        done = subprocess.run(
            ["sh", "-c", command], capture_output=True, text=True, env=env, timeout=30
        )
        assert done.stdout.strip() == expected.strip(), (command, done.stdout, done.stderr)
