"""Real processes for integration tests: free ports, start a service, wait until it answers."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A child process with its log file; stopped with SIGTERM, then SIGKILL."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """What the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 10) -> None:
        """Terminate the whole process group and wait for it."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash, not a shutdown)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


SHARED_SECRETS = {"SECRET_KEY": "k" * 40, "SERVICE_SECRET": "s" * 40}
"""Secrets of production length that every process of one multi-process test shares."""


def shared_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The settings every process of a multi-process test gets: one database (migrated
    once beforehand by `migrate`, not by each process), one Redis, cheap argon2 and JSON
    logs; `settings` added on top."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "HOST": "127.0.0.1",
        "AUTO_MIGRATE": "false",
        "LOG_JSON": "true",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        **SHARED_SECRETS,
        **settings,
    }


def migrate(env: Mapping[str, str], timeout: float = 180) -> None:
    """Upgrade the database `env` names to every service's head, as a deployment's
    migrate step does (`python -m skreg_common.migrate upgrade`)."""
    result = subprocess.run(
        [sys.executable, "-m", "skreg_common.migrate", "upgrade"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def make_run_env(workdir: Path, port: int, **extra: str) -> dict[str, str]:
    """The all-in-one process as `make run` starts it (SQLite, in-process queue, the dev
    default secrets whatever the test's own environment says), on 127.0.0.1:`port`."""
    return {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'registry.db'}",
        "ENVIRONMENT": "dev",
        "SECRET_KEY": "",
        "SERVICE_SECRET": "",
        "REDIS_URL": "",
        "LOG_JSON": "true",
        "SYNC_ENABLED": "false",
        "RELOAD": "false",
        **extra,
    }


def start(
    name: str, argv: list[str], env: Mapping[str, str], log_dir: Path, cwd: Path | None = None
) -> Process:
    """Start `argv` in its own session (so its whole tree can be signalled) with `env` added."""
    log_path = log_dir / f"{name}.log"
    log_file = log_path.open("wb")
    popen = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        start_new_session=True,
    )
    return Process(name, popen, log_path)


def start_python_module(
    name: str, module: str, env: Mapping[str, str], log_dir: Path, *args: str
) -> Process:
    """`python -m module` with the test interpreter."""
    return start(name, [sys.executable, "-m", module, *args], env, log_dir)


def wait_http(
    process: Process, url: str, *, timeout: float = 90, verify: bool | str | ssl.SSLContext = True
) -> None:
    """Poll `url` until it answers below 500; fail with the process log otherwise."""
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(
                f"{process.name} exited with {process.popen.returncode}:\n{process.log()}"
            )
        try:
            response = httpx.get(url, timeout=2, verify=verify)
            if response.status_code < 500:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{process.name} not answering at {url} ({last}):\n{process.log()[-4000:]}")
