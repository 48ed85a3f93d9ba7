"""`uvx --from ./cli skreg` works from a copy of the repository, outside the dev environment.

skreg-cli depends on skreg-proto through `[tool.uv.sources] … workspace = true`,
so uv builds both from the checkout into a throwaway environment of its own.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.checkout import copy_workspace, outside_env, uv_command

# Captured at import, before the `isolated` fixture points HOME at a temp dir: uv's
# cache lives under the real home, so a warm cache keeps this test fast.
REAL_HOME = os.environ.get("HOME", "")


def _outside(**extra: str) -> dict[str, str]:
    """The environment of someone outside the dev venv, with the real HOME (uv's cache)."""
    env = outside_env()
    env.update(HOME=REAL_HOME, **extra)
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_uvx_from_a_copy_of_the_repo(tmp_path: Path) -> None:
    copy, env = copy_workspace(tmp_path / "checkout"), _outside()
    uvx = [*uv_command(), "tool", "run", "--isolated", "--from", "./cli", "skreg"]
    result = _run([*uvx, "--help"], copy, env)
    assert result.returncode == 0, result.stderr
    assert "skreg: find, install and publish Agent Skills" in result.stdout
    assert "Exit codes:" in result.stdout
    version = _run([*uvx, "--version"], copy, env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("skreg, version 0.1.0")


def test_uv_tool_install_puts_skreg_on_path(tmp_path: Path) -> None:
    """The README's `uv tool install ./cli`, into private tool dirs so the machine is untouched."""
    copy = copy_workspace(tmp_path / "checkout")
    tools, bin_dir = tmp_path / "tools", tmp_path / "bin"
    env = _outside(UV_TOOL_DIR=str(tools), UV_TOOL_BIN_DIR=str(bin_dir))
    installed = _run([*uv_command(), "tool", "install", "./cli"], copy, env)
    assert installed.returncode == 0, installed.stderr
    assert (tools / "skreg-cli").is_dir()
    # The installed command runs on its own: from another directory, with no venv on PATH.
    version = _run([str(bin_dir / "skreg"), "--version"], tmp_path, env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("skreg, version 0.1.0")
