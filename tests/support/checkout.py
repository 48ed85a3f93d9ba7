"""A copy of the repository as a user's checkout holds it, for tests that build the CLI with uv.

Only the root project, every member's pyproject.toml, and `cli/` + `proto/` in
full: enough for uv to resolve the workspace and build skreg-cli, and a copy so
that nothing uv does touches the working tree under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns(
    "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.db", "*.db-*"
)


def copy_workspace(target: Path) -> Path:
    """Copy what `uv tool install ./cli` needs into `target`; returns `target`."""
    target.mkdir(parents=True, exist_ok=True)
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    for member in root["tool"]["uv"]["workspace"]["members"]:
        if member in ("cli", "proto"):
            shutil.copytree(REPO / member, target / member, ignore=IGNORE)
        else:
            (target / member).mkdir(parents=True)
            shutil.copy(REPO / member / "pyproject.toml", target / member / "pyproject.toml")
    return target


def uv_command() -> list[str]:
    """`uv` as this machine runs it."""
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def uv_cache_dir() -> str:
    """uv's cache of the real user (read before a test moves HOME): keeps builds warm."""
    return subprocess.run(
        [*uv_command(), "cache", "dir"], capture_output=True, text=True, check=True
    ).stdout.strip()


def outside_env() -> dict[str, str]:
    """This environment minus the dev venv and any SKREG_/uv project settings."""
    venv_bin = str(Path(sys.prefix) / "bin")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "UV_PROJECT", "SKREG_", "XDG_CONFIG"))
    }
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if part and part != venv_bin
    )
    return env
