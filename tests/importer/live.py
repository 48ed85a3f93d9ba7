"""Real processes for the queue tests: the services on a loopback port (uvicorn in a
thread), and arq worker processes started with `python -m skreg_importer.worker`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from skreg_auth.component import component as auth_component
from skreg_auth.settings import AuthSettings
from skreg_catalog.component import component as catalog_component
from skreg_catalog.settings import CatalogSettings
from skreg_common.app import build_app
from skreg_common.runtime import Runtime
from skreg_importer.component import component as importer_component

from tests.importer.conftest import ADMIN_KEY, SECRET_KEY, SERVICE_SECRET, importer_settings
from tests.importer.gitrepos import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class LiveServer:
    """Auth + catalog + importer (enqueue only: REDIS_URL is set) served on 127.0.0.1."""

    def __init__(self, database_url: str, redis_url: str, queue: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        common: dict[str, Any] = {
            "database_url": database_url,
            "secret_key": SECRET_KEY,
            "service_secret": SERVICE_SECRET,
            "redis_url": redis_url,
        }
        auth = AuthSettings(
            **common,
            admin_api_key=ADMIN_KEY,
            admin_password="admin-password-1",
            argon2_time_cost=1,
            argon2_memory_kib=8192,
            argon2_parallelism=1,
        )
        self.settings = importer_settings(
            database_url, redis_url=redis_url, importer_queue_name=queue
        )
        app = build_app(
            "importer-live",
            Runtime.open(self.settings),
            [
                auth_component(auth),
                catalog_component(CatalogSettings(**common)),
                importer_component(self.settings),
            ],
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)

    def worker_env(self, **overrides: Any) -> dict[str, str]:
        """Environment for a worker process pointed at this server, its DB and Redis."""
        env = {
            **os.environ,
            "DATABASE_URL": self.settings.database_url,
            "REDIS_URL": self.settings.redis_url or "",
            "SECRET_KEY": SECRET_KEY,
            "SERVICE_SECRET": SERVICE_SECRET,
            "CATALOG_URL": self.url,
            "AUTH_URL": self.url,
            "IMPORTER_ALLOW_LOCAL": "true",
            "IMPORTER_QUEUE_NAME": self.settings.importer_queue_name,
            "IMPORTER_RETRY_BACKOFF": "0.2",
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
        }
        env.update({key.upper(): str(value) for key, value in overrides.items()})
        return env


def start_worker(
    env: dict[str, str], log_path: Path, *, burst: bool = True
) -> subprocess.Popen[bytes]:
    """`python -m skreg_importer.worker` as a child process logging to `log_path`."""
    handle = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    args = [sys.executable, "-m", "skreg_importer.worker", *(["--burst"] if burst else [])]
    return subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT)
