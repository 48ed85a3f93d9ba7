"""Fixtures for the CLI tests: a REAL all-in-one registry process, and an isolated user setup.

The registry is the gateway's all-in-one app (`python -m skreg_gateway`) in a
subprocess on a free 127.0.0.1 port, once per backend per session: SQLite (a
file) and PostgreSQL (a throwaway database). Every test gets its own HOME,
config directory and project directory, and registers its own users, so tests
sharing a registry never see each other's skills.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import User, register
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support.processes import Process, free_port, start, wait_http

SERVER_MODULE = "skreg_gateway"
ADMIN_PASSWORD = "registry-admin-password"


@dataclass
class RegistryServer:
    """One all-in-one registry process on a database it migrates itself."""

    database_url: str
    workdir: Path
    port: int = 0
    process: Process | None = None
    settings: dict[str, str] = field(default_factory=dict)  # more environment for the process

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RegistryServer:
        """Start (or restart) it and wait until the catalog and auth answer."""
        self.port = self.port or free_port()
        env = {
            "PORT": str(self.port),
            "DATABASE_URL": self.database_url,
            "AUTO_MIGRATE": "true",
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "LOG_JSON": "true",
            "LOG_LEVEL": "WARNING",
            # Password hashing at its cheapest: the tests log in often; the cost is auth's concern.
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "1024",
            "ARGON2_PARALLELISM": "1",
            # Git sources in the tests are local repositories (file://).
            "IMPORTER_ALLOW_LOCAL": "true",
            # One session-wide user publishes for many tests; the limit has tests of its own.
            "PUBLISH_RATE_LIMIT": "0",
            **self.settings,
        }
        argv = [sys.executable, "-m", SERVER_MODULE]
        self.process = start("registry", argv, env, self.workdir, cwd=self.workdir)
        wait_http(self.process, f"{self.url}/health", timeout=60)
        # Under REQUIRE_SIGN_IN the catalog answers anonymous callers 401, and is there.
        closed = self.settings.get("REQUIRE_SIGN_IN") == "true"
        for path in ("/api/v1/skills", "/api/v1/auth/jwks"):
            status = httpx.get(self.url + path, timeout=10).status_code
            if status != (401 if closed and path == "/api/v1/skills" else 200):
                pytest.fail(
                    f"the all-in-one registry answers {path} with HTTP {status}: "
                    "the gateway does not mount the catalog and auth services"
                )
        return self

    def stop(self) -> None:
        """Stop the process (the database stays)."""
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture(scope="session", params=BACKENDS)
def registry_backend(request: pytest.FixtureRequest) -> str:
    """The database backend the registry process runs on."""
    return str(request.param)


@pytest.fixture(scope="session")
def registry_database(
    registry_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database for one registry process (the process migrates it)."""
    if registry_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('registry') / 'registry.db'}"
        return
    dsn = asyncio.run(create_pg_database("skreg_cli"))
    yield dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    asyncio.run(drop_pg_database(dsn))


@pytest.fixture(scope="session")
def registry(
    registry_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """The shared all-in-one registry of this backend."""
    server = RegistryServer(registry_database, tmp_path_factory.mktemp("registry-logs"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME, config dir and project dir (the cwd); no SKREG_* from outside."""
    home, config, project = tmp_path / "home", tmp_path / "config", tmp_path / "project"
    for directory in (home, project):
        directory.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SKREG_CONFIG_DIR", str(config))
    monkeypatch.delenv("SKREG_URL", raising=False)
    monkeypatch.delenv("SKREG_TOKEN", raising=False)
    for moved_home in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):  # agent detection reads these
        monkeypatch.delenv(moved_home, raising=False)
    monkeypatch.chdir(project)
    return project


@pytest.fixture(scope="session")
def user(registry: RegistryServer) -> User:
    """A user with an API key on the shared registry (tests tell apart by skill names)."""
    return register(registry.url)


@pytest.fixture
def signed_in(registry: RegistryServer, user: User, monkeypatch: pytest.MonkeyPatch) -> User:
    """`user`, used by every `skreg` run through SKREG_URL / SKREG_TOKEN."""
    monkeypatch.setenv("SKREG_URL", registry.url)
    monkeypatch.setenv("SKREG_TOKEN", user.key)
    return user
