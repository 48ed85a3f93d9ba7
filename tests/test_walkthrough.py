"""The README's "From zero to an installed skill", run exactly as written.

The blocks are parsed out of README.md. The one that starts the registry
(`make run`) runs in a process of its own from this checkout, as in a terminal
of its own; every other block runs, in order, in one shell at a real terminal
(a pty: password prompts are answered where they appear), from a copy of the
checkout, with a private HOME and private uv tool directories. The only edit
to the text is the registry's port: `127.0.0.1:8000` may be taken on a shared
machine, so the test's free port replaces it (the server learns it from PORT).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support.checkout import REPO, copy_workspace, outside_env, uv_cache_dir
from tests.support.processes import free_port, start, wait_http
from tests.support.terminal import Session, run_at_terminal

README = (REPO / "README.md").read_text()
SECTION = "## From zero to an installed skill"
README_URL = "http://127.0.0.1:8000"
ALICE_PASSWORD = "alice-walkthrough-password"
ADMIN_PASSWORD = "admin123"  # what the README says `make run` sets; the test keeps the default
# Read before any test moves HOME: uv's cache and pyenv's shims live under the real one.
UV_CACHE = uv_cache_dir()
REAL_HOME = Path(os.environ.get("HOME", "/"))


def walkthrough_blocks() -> list[str]:
    """The ```sh blocks of the walkthrough section, in order."""
    start_at = README.index(SECTION)
    end_at = README.find("\n## ", start_at + len(SECTION))
    section = README[start_at : end_at if end_at >= 0 else len(README)]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def split_blocks() -> tuple[str, list[str]]:
    """(the block that starts the registry, every other block)."""
    blocks = walkthrough_blocks()
    servers = [b for b in blocks if "make run" in b]
    assert len(servers) == 1, "the walkthrough starts the registry in exactly one block"
    return servers[0], [b for b in blocks if b is not servers[0]]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for the walkthrough's registry."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'walkthrough.db'}"
        return
    dsn = asyncio.run(create_pg_database("skreg_walkthrough"))
    yield dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    asyncio.run(drop_pg_database(dsn))


def test_the_walkthrough_covers_the_newcomer_path() -> None:
    server, terminal = split_blocks()
    commands = "\n".join(terminal)
    assert server.strip().endswith("make run")
    for expected in (
        "uv tool install ./cli",
        "uvx --from ./cli skreg",
        "skreg register",
        "skreg source add",
        "skreg source sync",
        "curl -s -X POST",  # the API does a sync too
        "skreg search",
        "--agent claude",
        "skreg verify",
    ):
        assert expected in commands, f"the walkthrough no longer shows {expected!r}"


def test_the_readme_walkthrough_runs_as_written(database_url: str, tmp_path: Path) -> None:
    server_block, terminal_blocks = split_blocks()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = {
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "AUTO_MIGRATE": "true",  # make run's SQLite does it anyway; PostgreSQL needs asking
        "LOG_JSON": "true",
        "LOG_LEVEL": "WARNING",
        # Cheap password hashing: a property of the test machine, not of the walkthrough.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
    }
    registry = start("make-run", ["bash", "-c", server_block], server_env, tmp_path, cwd=REPO)
    try:
        wait_http(registry, f"{url}/health", timeout=180)
        session, home, bin_dir = _run_terminal(terminal_blocks, url, tmp_path)
    finally:
        registry.stop()
    assert session.returncode == 0, session.transcript[-6000:]

    # skreg was installed by uv into the private tool dirs, and that copy ran the walkthrough.
    assert (bin_dir / "skreg").exists()
    # The skill is in Claude Code's project folder, byte for byte the repository's file.
    installed = home / "my-project" / ".claude" / "skills" / "hello" / "SKILL.md"
    assert installed.read_bytes() == (home / "hello-skills" / "hello" / "SKILL.md").read_bytes()
    assert '"team/hello"' in (home / "my-project" / "skreg.lock").read_text()
    # The CLI said which registry it used; the waited-for sync created the skill.
    text = session.transcript
    assert f"Registered alice on {url}" in text
    assert f"Installing from {url}" in text
    assert "succeeded" in text
    assert "(1 created)" in text
    # The install verified the registry's signature (its key pinned on first use), and
    # `skreg verify` found the files, the lock and the signature in agreement.
    assert f"Trusting {url}'s signing key" in text
    assert "team/hello@1.0.0: ok (signed by" in text
    assert ALICE_PASSWORD not in text  # typed at a prompt that does not echo


def _run_terminal(blocks: list[str], url: str, tmp_path: Path) -> tuple[Session, Path, Path]:
    home, checkout = tmp_path / "home", copy_workspace(tmp_path / "checkout")
    home.mkdir()
    tools, bin_dir = tmp_path / "uv-tools", tmp_path / "uv-bin"
    env = outside_env()
    env.update(
        HOME=str(home),
        UV_CACHE_DIR=UV_CACHE,
        UV_TOOL_DIR=str(tools),
        UV_TOOL_BIN_DIR=str(bin_dir),
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        TERM="dumb",
        NO_COLOR="1",
        # A newcomer's git knows who they are; this HOME has no ~/.gitconfig.
        GIT_AUTHOR_NAME="Alice",
        GIT_AUTHOR_EMAIL="alice@example.com",
        GIT_COMMITTER_NAME="Alice",
        GIT_COMMITTER_EMAIL="alice@example.com",
    )
    pyenv = Path(os.environ.get("PYENV_ROOT", REAL_HOME / ".pyenv"))
    if pyenv.is_dir():  # uv and python3 may be pyenv shims, which look for it under HOME
        env["PYENV_ROOT"] = str(pyenv)
    script = "set -eo pipefail\n" + "\n".join(b.replace(README_URL, url) for b in blocks)
    session = run_at_terminal(
        script,
        cwd=checkout,
        env=env,
        answers=[
            ("Password: ", ALICE_PASSWORD),
            ("Repeat for confirmation: ", ALICE_PASSWORD),
            ("Password: ", ADMIN_PASSWORD),
        ],
        timeout=600,
    )
    return session, home, bin_dir
