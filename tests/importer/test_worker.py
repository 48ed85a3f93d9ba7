"""The arq mode against real Redis and real worker processes.

- jobs are msgpack (never pickle), a double click enqueues one job, a burst worker runs it;
- a worker SIGKILLed mid-run leaves the run to be recovered: after a restart it completes,
  with no duplicate versions;
- GIT_MAX_CONCURRENT holds across two worker processes (a slow git server counts).
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
import msgspec
from redis.asyncio import Redis
from skreg_importer.queue.dispatch import decode_job
from skreg_importer.worker import build_worker

from tests.conftest import REDIS_URL
from tests.importer.conftest import ADMIN_KEY, IMPORTS, SOURCES, importer_settings
from tests.importer.gitrepos import GitDaemon, Repo, SlowGitProxy
from tests.importer.live import LiveServer, start_worker


async def _wait_run(
    client: httpx.AsyncClient, run_id: str, states: tuple[str, ...], limit_s: float = 60
) -> dict:
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        run = (await client.get(f"{IMPORTS}/{run_id}")).json()
        if run["state"] in states:
            return dict(run)
        assert asyncio.get_running_loop().time() < deadline, f"run stayed {run['state']}"
        await asyncio.sleep(0.05)


async def _wait_process(process: object, limit_s: float = 90) -> int:
    import subprocess

    assert isinstance(process, subprocess.Popen)
    deadline = asyncio.get_running_loop().time() + limit_s
    while process.poll() is None:
        assert asyncio.get_running_loop().time() < deadline, "worker did not finish"
        await asyncio.sleep(0.05)
    return int(process.returncode)


def _queue() -> str:
    return f"skreg:test:{uuid.uuid4().hex[:12]}"


async def test_arq_jobs_are_msgpack_enqueued_once_and_run_by_a_burst_worker(
    database_url: str, redis_client: Redis, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/one")
    repo.skill("skills/two")
    repo.commit()
    queue = _queue()
    with LiveServer(database_url, REDIS_URL, queue) as live:
        async with httpx.AsyncClient(
            base_url=live.url, headers={"x-api-key": ADMIN_KEY}, timeout=30
        ) as client:
            created = await client.post(
                SOURCES, json={"url": daemon.url("skills.git"), "namespace": "team"}
            )
            source = created.json()
            answers = await asyncio.gather(
                *(client.post(f"{SOURCES}/{source['id']}/sync") for _ in range(4))
            )
            assert {a.status_code for a in answers} == {202}
            run_ids = {a.json()["id"] for a in answers}
            assert len(run_ids) == 1
            (run_id,) = run_ids

            jobs = await redis_client.zrange(queue, 0, -1)
            assert jobs == [f"import:{source['id']}:1".encode()]
            raw = await redis_client.get(b"arq:job:" + jobs[0])
            assert raw is not None
            assert not raw.startswith(b"\x80")  # not a pickle
            envelope = msgspec.msgpack.decode(raw)
            assert envelope["f"] == "import_run"
            assert decode_job(envelope["a"][0]).run_id == run_id

            settings = importer_settings(
                database_url,
                redis_url=REDIS_URL,
                importer_queue_name=queue,
                catalog_url=live.url,
                auth_url=live.url,
            )
            worker = build_worker(settings, burst=True)
            worker.handle_signals = False
            await worker.main()
            await worker.close()
            assert worker.jobs_failed == 0
            assert await redis_client.zcard(queue) == 0

            run = await _wait_run(client, run_id, ("succeeded", "failed"))
            assert run["state"] == "succeeded", run["error"]
            assert {r["name"]: r["outcome"] for r in run["results"]} == {
                "one": "created",
                "two": "created",
            }
            assert (await client.get("/api/v1/skills/team/one")).status_code == 200


async def test_worker_killed_mid_run_is_recovered_without_duplicates(
    database_url: str, redis_client: Redis, daemon: GitDaemon, repo: Repo, tmp_path: Path
) -> None:
    for index in range(40):
        repo.skill(f"skills/skill-{index:02d}")
    repo.commit()
    queue = _queue()
    with LiveServer(database_url, REDIS_URL, queue) as live:
        async with httpx.AsyncClient(
            base_url=live.url, headers={"x-api-key": ADMIN_KEY}, timeout=30
        ) as client:
            source = (
                await client.post(
                    SOURCES, json={"url": daemon.url("skills.git"), "namespace": "team"}
                )
            ).json()
            run_id = (await client.post(f"{SOURCES}/{source['id']}/sync")).json()["id"]
            env = live.worker_env(importer_run_lease_seconds=1.0, importer_publish_concurrency=1)
            first = start_worker(env, tmp_path / "worker-1.log", burst=False)
            try:
                # Kill it once it has published some, but not all, of the skills.
                deadline = asyncio.get_running_loop().time() + 60
                while True:
                    listing = (
                        await client.get("/api/v1/skills", params={"namespace": "team"})
                    ).json()
                    if listing["total"] >= 3:
                        break
                    assert asyncio.get_running_loop().time() < deadline, (
                        tmp_path / "worker-1.log"
                    ).read_text()
                    await asyncio.sleep(0.01)
                first.send_signal(signal.SIGKILL)
                assert await _wait_process(first) == -signal.SIGKILL
            finally:
                if first.poll() is None:
                    first.kill()
            stuck = (await client.get(f"{IMPORTS}/{run_id}")).json()
            assert stuck["state"] == "running"
            assert (
                3
                <= (await client.get("/api/v1/skills", params={"namespace": "team"})).json()[
                    "total"
                ]
                < 40
            )

            await asyncio.sleep(1.2)  # the dead worker's lease (1 s) runs out
            second = start_worker(env, tmp_path / "worker-2.log", burst=True)
            assert await _wait_process(second) == 0, (tmp_path / "worker-2.log").read_text()

            run = await _wait_run(client, run_id, ("succeeded", "failed"))
            assert run["state"] == "succeeded", run["error"]
            assert run["attempts"] == 2
            outcomes = {r["outcome"] for r in run["results"]}
            assert outcomes <= {"created", "unchanged"}
            assert len(run["results"]) == 40
            for index in range(0, 40, 5):
                versions = (
                    await client.get(f"/api/v1/skills/team/skill-{index:02d}/versions")
                ).json()
                assert len(versions["items"]) == 1  # published once, whoever did it
            assert "import.requeued" in (tmp_path / "worker-2.log").read_text()


async def test_clone_cap_holds_across_two_worker_processes(
    database_url: str, redis_client: Redis, daemon: GitDaemon, tmp_path: Path
) -> None:
    proxy = SlowGitProxy(daemon.port, delay=0.3).start()
    queue = _queue()
    try:
        with LiveServer(database_url, REDIS_URL, queue) as live:
            async with httpx.AsyncClient(
                base_url=live.url, headers={"x-api-key": ADMIN_KEY}, timeout=30
            ) as client:
                run_ids = []
                for index in range(8):
                    name = f"repo-{index}.git"
                    repo = daemon.repo(name)
                    repo.skill(f"skills/s{index}")
                    repo.commit()
                    source = (
                        await client.post(
                            SOURCES, json={"url": proxy.url(name), "namespace": f"ns{index}"}
                        )
                    ).json()
                    run_ids.append(
                        (await client.post(f"{SOURCES}/{source['id']}/sync")).json()["id"]
                    )
                env = live.worker_env(git_max_concurrent=3, importer_worker_max_jobs=4)
                workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
                codes = [await _wait_process(w) for w in workers]
                logs = [(tmp_path / f"worker-{n}.log").read_text() for n in (1, 2)]
                assert codes == [0, 0], logs
                for run_id in run_ids:
                    run = (await client.get(f"{IMPORTS}/{run_id}")).json()
                    assert run["state"] == "succeeded", run["error"]
    finally:
        proxy.stop()
    assert proxy.total == 8  # per run: one clone (the tags on its commit come with it)
    assert proxy.max_active == 3
    finished = [
        sum(1 for line in text.splitlines() if '"import.finished"' in line) for text in logs
    ]
    # Both processes did part of the work, and together never ran more than 3 clones.
    assert sum(finished) == 8
    assert all(count > 0 for count in finished), finished
