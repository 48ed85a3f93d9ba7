"""Redis stopped under load: the registry keeps serving, and catches up once Redis is back.

Auth, catalog, the importer API and an arq worker run on PostgreSQL and on a Redis of
this test's own (never the shared one), loopback only. Redis is SIGKILLed; during the
outage reads, downloads and a publish succeed, every `/ready` answers 200 "degraded",
sign-in failures beyond the limit still get 429 (the throttle counts in-process, never
"unlimited"), and an import requested then is accepted and waits in the database
(its enqueue failed). Redis comes back; the worker's upkeep enqueues the waiting run
after IMPORTER_QUEUED_GRACE_SECONDS and it succeeds. Figures are printed.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from redis import Redis as SyncRedis

from tests.conftest import create_pg_database, drop_pg_database
from tests.importer.gitrepos import Repo
from tests.support.factories import AUTH, bearer, new_user, publish_bundle, skill_bundle
from tests.support.processes import (
    Process,
    free_port,
    migrate,
    shared_env,
    start,
    start_python_module,
    wait_http,
)

ADMIN_PASSWORD = "admin-password-for-redis-outage"
LOGIN_MAX_FAILURES = 3
UPKEEP_SECONDS = 1  # the worker's upkeep cron (SYNC_CHECK_SECONDS)
GRACE_SECONDS = 1  # IMPORTER_QUEUED_GRACE_SECONDS
RUN_TIMEOUT_S = 30.0


@dataclass
class PrivateRedis:
    """A redis-server of this test's own, killed and restarted on the same port."""

    port: int
    workdir: Path
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.process = start("redis", argv, {}, self.workdir)
        deadline = time.monotonic() + 10
        while True:
            try:
                with SyncRedis.from_url(self.url, socket_connect_timeout=1) as client:
                    client.ping()
                return
            except Exception:
                assert time.monotonic() < deadline, self.process.log()
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()


@dataclass
class Deployment:
    redis: PrivateRedis
    auth: str
    catalog: str
    importer: str
    processes: dict[str, Process]
    repo: Repo
    figures: dict[str, float] = field(default_factory=dict)

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.log()[-3000:]}" for n, p in self.processes.items())


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    redis = PrivateRedis(free_port(), tmp_path)
    redis.start()
    dsn = asyncio.run(create_pg_database("skreg_redis_outage"))
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    ports = {name: free_port() for name in ("auth", "catalog", "importer")}
    bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    common = shared_env(
        url,
        redis.url,
        ENVIRONMENT="dev",
        RELOAD="false",
        AUTH_URL=bases["auth"],
        CATALOG_URL=bases["catalog"],
        IMPORTER_URL=bases["importer"],
        PUBLISH_RATE_LIMIT="0",
        REGISTRATION_OPEN="true",
        ADMIN_USERNAME="admin",
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        LOGIN_MAX_FAILURES=str(LOGIN_MAX_FAILURES),
        IMPORTER_ALLOW_LOCAL="true",
        SYNC_CHECK_SECONDS=str(UPKEEP_SECONDS),
        IMPORTER_QUEUED_GRACE_SECONDS=str(GRACE_SECONDS),
    )
    migrate(common)
    repo = Repo(tmp_path / "skills.git")
    repo.skill("skills/outage-alpha", description="Imported once Redis came back.")
    repo.commit("one skill")
    processes: dict[str, Process] = {}
    try:
        modules = {
            "auth": "skreg_auth",
            "catalog": "skreg_catalog",
            "importer": "skreg_importer",
            "worker": "skreg_importer.worker",
        }
        for name, module in modules.items():
            env = {**common, "PORT": str(ports.get(name, 0))}
            processes[name] = start_python_module(name, module, env, tmp_path)
        for name, base in bases.items():
            wait_http(processes[name], f"{base}/ready", timeout=60)
        yield Deployment(redis, bases["auth"], bases["catalog"], bases["importer"], processes, repo)
    finally:
        for process in reversed(processes.values()):
            process.stop()
        if redis.process is not None:
            redis.process.stop()
        asyncio.run(drop_pg_database(dsn))


async def _timed(figures: dict[str, list[float]], name: str, call: object) -> httpx.Response:
    started = time.monotonic()
    response: httpx.Response = await call  # type: ignore[misc]
    figures.setdefault(name, []).append((time.monotonic() - started) * 1000)
    return response


def test_redis_outage_keeps_serving_and_imports_catch_up(deployment: Deployment) -> None:
    d = deployment
    times: dict[str, list[float]] = {}

    async def scenario() -> tuple[str, float]:
        async with (
            httpx.AsyncClient(base_url=d.auth, timeout=10) as auth,
            httpx.AsyncClient(base_url=d.catalog, timeout=10) as catalog,
            httpx.AsyncClient(base_url=d.importer, timeout=10) as importer,
        ):
            user = await new_user(auth, "outage-owner")
            published = await publish_bundle(
                catalog, skill_bundle("steady"), user.headers, version="1.0.0"
            )
            assert published.status_code == 201, published.text
            admin_login = await auth.post(
                f"{AUTH}/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            assert admin_login.status_code == 200, admin_login.text
            admin = bearer(admin_login.json()["access_token"])
            added = await importer.post(
                "/api/v1/sources",
                json={"url": d.repo.url, "namespace": "outage"},
                headers=admin,
            )
            assert added.status_code == 201, added.text
            source_id = added.json()["id"]

            d.redis.kill()
            killed_at = time.monotonic()

            for base in (d.auth, d.catalog, d.importer):
                ready = await _timed(times, "ready", catalog.get(f"{base}/ready"))
                assert ready.status_code == 200, (base, ready.text)
                assert ready.json()["status"] == "degraded", ready.text
                assert ready.json()["checks"]["redis"].startswith("failed"), ready.text

            skill = "/api/v1/skills/outage-owner/steady"
            for _ in range(20):
                found = await _timed(times, "search", catalog.get("/api/v1/skills?q=steady"))
                assert found.status_code == 200, found.text
                detail = await _timed(times, "detail", catalog.get(skill))
                assert detail.status_code == 200, detail.text
                download = await _timed(
                    times, "download", catalog.get(f"{skill}/versions/1.0.0/download")
                )
                assert download.status_code == 200, download.text
            for minor in range(1, 4):
                data = skill_bundle("steady", body=f"# published during the outage {minor}\n")
                answer = await _timed(
                    times,
                    "publish",
                    publish_bundle(catalog, data, user.headers, version=f"1.{minor}.0"),
                )
                assert answer.status_code == 201, answer.text
            fresh = await catalog.get(f"{skill}/versions/1.3.0")
            assert fresh.status_code == 200, "the writer reads its own write"

            # Sign-in throttling still holds: failures past the limit are refused.
            statuses = []
            for _ in range(LOGIN_MAX_FAILURES + 2):
                wrong = await _timed(
                    times,
                    "login",
                    auth.post(
                        f"{AUTH}/login",
                        json={"username": "outage-owner", "password": "not the password"},
                    ),
                )
                statuses.append(wrong.status_code)
            assert statuses[:LOGIN_MAX_FAILURES] == [401] * LOGIN_MAX_FAILURES, statuses
            assert statuses[LOGIN_MAX_FAILURES:] == [429, 429], statuses

            sync = await _timed(
                times,
                "import request",
                importer.post(f"/api/v1/sources/{source_id}/sync", headers=admin),
            )
            assert sync.status_code == 202, sync.text
            run_id = sync.json()["id"]
            assert sync.json()["state"] == "queued"
            await asyncio.sleep(GRACE_SECONDS + UPKEEP_SECONDS)  # nothing runs it yet
            waiting = await importer.get(f"/api/v1/imports/{run_id}", headers=admin)
            assert waiting.json()["state"] == "queued", waiting.text
            outage = time.monotonic() - killed_at

            d.redis.start()
            back_at = time.monotonic()
            deadline = back_at + RUN_TIMEOUT_S
            while True:
                run = await importer.get(f"/api/v1/imports/{run_id}", headers=admin)
                assert run.status_code == 200, run.text
                if run.json()["state"] in ("succeeded", "partial", "failed"):
                    break
                assert time.monotonic() < deadline, f"run still {run.json()}\n{d.logs()}"
                await asyncio.sleep(0.1)
            assert run.json()["state"] == "succeeded", f"{run.json()}\n{d.logs()}"
            caught_up = time.monotonic() - back_at
            # The worker lost Redis and waited for it instead of exiting.
            assert "worker.redis_lost" in d.processes["worker"].log()
            assert d.processes["worker"].popen.poll() is None
            imported = await catalog.get("/api/v1/skills/outage/outage-alpha")
            assert imported.status_code == 200, imported.text
            for base in (d.auth, d.catalog, d.importer):
                ready = await catalog.get(f"{base}/ready")
                assert ready.status_code == 200
                assert ready.json()["status"] == "ok", ready.text
            return f"{outage:.1f}", caught_up

    outage, caught_up = asyncio.run(scenario())
    print(f"\nRedis down for {outage} s; import done {caught_up:.1f} s after Redis returned")
    for name, values in times.items():
        values.sort()
        print(
            f"  {name:15} n={len(values):3} p50={values[len(values) // 2]:7.1f} ms"
            f" max={values[-1]:7.1f} ms"
        )
