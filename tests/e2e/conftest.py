"""The split deployment, for real: every service its own process behind the real Traefik.

PostgreSQL (a fresh database, migrated once by `python -m skreg_common.migrate`),
Redis (database 12, flushed), auth, catalog, the importer API, an arq worker, the UI
gateway, a `git daemon` serving a test repository, and Traefik terminating TLS with a
test CA. Tests reach it only through `https://127.0.0.1:<port>`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import create_pg_database, drop_pg_database, redis_url_for_worker
from tests.importer.gitrepos import GIT_ENV, Repo, skill_md, wait_for_port
from tests.support.processes import Process, free_port, start, start_python_module, wait_http
from tests.support.traefik import Edge, start_traefik

REDIS_URL = redis_url_for_worker(12)
ADMIN_PASSWORD = "e2e-admin-password-long-enough"
SECRET_KEY = "e2e-secret-key-0123456789abcdefghijklmnop"
SERVICE_SECRET = "e2e-service-secret-0123456789abcdefghijkl"

# What a trusted load balancer in front of Traefik would say the client is. Every
# request carries one, so each test decides which rate-limit bucket it spends.
CLIENT_IP = "198.51.100.20"

# The services, in the order they are stopped (reverse of dependence).
SERVICES = {
    "gateway": "skreg_gateway",
    "worker": "skreg_importer.worker",
    "importer": "skreg_importer",
    "catalog": "skreg_catalog",
    "auth": "skreg_auth",
}
HTTP_SERVICES = ("auth", "catalog", "importer", "gateway")
LOG_TAIL = 3000


@dataclass
class Deployment:
    """Everything the scenarios need: the edge, the processes (for their logs), the repo."""

    edge: Edge
    processes: dict[str, Process]
    repo: Repo
    git_url: str
    git_commit: str
    workdir: Path
    admin_password: str = ADMIN_PASSWORD
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, ip: str = CLIENT_IP) -> httpx.Client:
        """An HTTPS client that trusts only the test CA, arriving "from" `ip`."""
        client = httpx.Client(
            base_url=self.edge.base_url,
            verify=self.edge.ssl_context(),
            timeout=20,
            headers={"X-Forwarded-For": ip},
        )
        self.clients.append(client)
        return client

    def logs(self, *names: str) -> str:
        """The tail of each named process's log (every process when none is named)."""
        chosen = names or tuple(self.processes)
        parts = [
            f"--- {name} log (tail) ---\n{self.processes[name].log()[-LOG_TAIL:]}"
            for name in chosen
        ]
        if "traefik" in chosen:
            access = self.workdir / "traefik" / "access.log"
            text = access.read_text(errors="replace") if access.exists() else ""
            parts.append(f"--- traefik access log (tail) ---\n{text[-LOG_TAIL:]}")
        return "\n".join(parts)

    def explain(self, response: httpx.Response, *names: str) -> str:
        """An assertion message: the response, then the logs of the processes involved."""
        return (
            f"{response.request.method} {response.request.url} -> {response.status_code} "
            f"{response.headers.get('content-type', '')}\n{response.text[:2000]}\n"
            + self.logs(*names, "traefik")
        )


def _service_env(ports: dict[str, int], database_url: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "dev",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET_KEY,
        "SERVICE_SECRET": SERVICE_SECRET,
        "AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
        "CATALOG_URL": f"http://127.0.0.1:{ports['catalog']}",
        "IMPORTER_URL": f"http://127.0.0.1:{ports['importer']}",
        "HOST": "127.0.0.1",
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "IMPORTER_ALLOW_LOCAL": "true",
        "LOG_JSON": "true",
        "AUTO_MIGRATE": "false",
        # Requests reach the services through the "load balancer" and Traefik, both on
        # loopback: the client is the right-most X-Forwarded-For entry not on loopback.
        "TRUSTED_PROXIES": "127.0.0.1",
        "GATEWAY_MODE": "ui",
        # Keep the test's own environment from leaking settings into the services.
        "RELOAD": "false",
    }


def _migrate(database_url: str, workdir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skreg_common.migrate", "upgrade"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=workdir,
    )
    assert done.returncode == 0, f"migration failed:\n{done.stdout}\n{done.stderr}"


def _flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the e2e tests and unreachable at {REDIS_URL}: {exc}")
    finally:
        client.close()


def _git_repository(base: Path) -> tuple[Repo, str]:
    """Two valid skills and one invalid (no description) under `skills/`, committed."""
    repo = Repo(base / "skills.git")
    repo.skill("skills/e2e-alpha", description="Alpha imported through the e2e pipeline.")
    repo.skill("skills/e2e-beta", description="Beta imported through the e2e pipeline.")
    repo.write("skills/e2e-beta/scripts/run.sh", "#!/bin/sh\necho beta\n", executable=True)
    repo.write("skills/e2e-broken/SKILL.md", skill_md("e2e-broken").replace("description", "x"))
    return repo, repo.commit("three skills, one broken")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Start the split deployment once for the module; stop all of it afterwards."""
    workdir = tmp_path_factory.mktemp("e2e")
    dsn = asyncio.run(create_pg_database("skreg_e2e"))
    database_url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    started: list[Process] = []
    try:
        _flush_redis()
        _migrate(database_url, workdir)

        git_base = workdir / "git"
        repo, commit = _git_repository(git_base)
        git_port = free_port()
        daemon = start(
            "git-daemon",
            [
                "git",
                "daemon",
                "--export-all",
                "--reuseaddr",
                f"--base-path={git_base}",
                f"--port={git_port}",
                "--listen=127.0.0.1",
                str(git_base),
            ],
            GIT_ENV,
            workdir,
        )
        started.append(daemon)

        ports = {name: free_port() for name in HTTP_SERVICES}
        common = _service_env(ports, database_url)
        processes: dict[str, Process] = {"git-daemon": daemon}
        # Started together (imports dominate start-up), then awaited one by one.
        for name, module in reversed(SERVICES.items()):
            env = {**common, "PORT": str(ports.get(name, 0))}
            processes[name] = start_python_module(name, module, env, workdir)
            started.append(processes[name])
        for name in HTTP_SERVICES:
            wait_http(processes[name], f"http://127.0.0.1:{ports[name]}/health", timeout=60)
        wait_for_port(git_port)

        edge_dir = workdir / "traefik"
        edge_dir.mkdir()
        upstreams = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        edge = start_traefik(edge_dir, upstreams, ip_depth=1, trusted_ips=["127.0.0.1/32"])
        started.append(edge.process)
        processes["traefik"] = edge.process
        running = Deployment(
            edge=edge,
            processes=processes,
            repo=repo,
            git_url=f"git://127.0.0.1:{git_port}/skills.git",
            git_commit=commit,
            workdir=workdir,
        )
        try:
            yield running
        finally:
            for client in running.clients:
                client.close()
    finally:
        # Traefik first (no new requests), then the services, the git daemon last.
        for process in reversed(started):
            process.stop()
        _flush_redis()
        asyncio.run(drop_pg_database(dsn))
