"""`uvx --from ./cli skreg` works from a copy of the repository, outside the dev environment.

skreg-cli depends on skreg-proto through `[tool.uv.sources] … workspace = true`,
so uv builds both from the checkout into a throwaway environment of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Captured at import, before the `isolated` fixture points HOME at a temp dir: uv's
# cache lives under the real home, so a warm cache keeps this test fast.
REAL_HOME = os.environ.get("HOME", "")
IGNORE = shutil.ignore_patterns(
    "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.db", "*.db-*"
)


def _uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def _copy_workspace(target: Path) -> None:
    """The root project, every member's pyproject.toml, and cli + proto in full."""
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    for member in root["tool"]["uv"]["workspace"]["members"]:
        if member in ("cli", "proto"):
            shutil.copytree(REPO / member, target / member, ignore=IGNORE)
        else:
            (target / member).mkdir(parents=True)
            shutil.copy(REPO / member / "pyproject.toml", target / member / "pyproject.toml")


def test_uvx_from_a_copy_of_the_repo(tmp_path: Path) -> None:
    copy = tmp_path / "checkout"
    copy.mkdir()
    _copy_workspace(copy)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "UV_PROJECT", "SKREG_"))
    }
    env["HOME"] = REAL_HOME
    result = subprocess.run(
        [*_uv(), "tool", "run", "--isolated", "--from", "./cli", "skreg", "--help"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "skreg: find, install and publish Agent Skills" in result.stdout
    assert "Exit codes:" in result.stdout
    version = subprocess.run(
        [*_uv(), "tool", "run", "--isolated", "--from", "./cli", "skreg", "--version"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("skreg, version 0.1.0")
