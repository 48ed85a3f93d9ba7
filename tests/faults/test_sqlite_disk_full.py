"""The embedded mode's disk fills up: publishes answer 507, nothing stored is damaged.

The all-in-one gateway (`make run`'s shape: SQLite, no Redis) keeps its database on a
6 MB tmpfs mounted for this test. Skills are published until the disk is full: from
then on a publish answers 507 problem+json that says the storage is full (never a
500), and afterwards the database passes `PRAGMA integrity_check` and every version
published before still downloads byte for byte. Mounting needs root (the CI runner
and the dev container are root); under CI=true a failed mount fails the test.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.factories import new_user, publish_bundle, skill_bundle
from tests.support.processes import Process, free_port, make_run_env, start_python_module, wait_http

TMPFS_SIZE = "4m"
MAX_PUBLISHES = 120  # ~100 KB each on disk: the 6 MB fill long before this


@dataclass
class Embedded:
    url: str
    database: Path
    process: Process


def _mount_tmpfs(target: Path) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(target)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"cannot mount a {TMPFS_SIZE} tmpfs for the disk-full test (needs root or "
            f"CAP_SYS_ADMIN): {done.stderr.strip()}"
        )


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    disk = tmp_path / "small-disk"
    disk.mkdir()
    _mount_tmpfs(disk)
    process: Process | None = None
    try:
        port = free_port()
        env = make_run_env(
            disk,
            port,
            REGISTRATION_OPEN="true",
            PUBLISH_RATE_LIMIT="0",
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_KIB="8192",
        )
        process = start_python_module("gateway", "skreg_gateway", env, tmp_path)
        url = f"http://127.0.0.1:{port}"
        wait_http(process, f"{url}/ready", timeout=60)
        yield Embedded(url, disk / "registry.db", process)
    finally:
        if process is not None:
            process.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=30)


def _filler(seed: int, size: int = 400_000) -> bytes:
    # Made-up words: compresses about 4:1 like prose, and no long random runs that the
    # scanner would take for a secret.
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "qu", "zo", "be"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 5))) for _ in range(3000)]
    out: list[str] = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(words) for _ in range(12)) + "\n"
        out.append(line)
        length += len(line)
    return "".join(out).encode()


async def _fill(embedded: Embedded) -> tuple[dict[str, bytes], list[httpx.Response]]:
    async with httpx.AsyncClient(base_url=embedded.url, timeout=60) as client:
        user = await new_user(client, "disk-owner")
        stored: dict[str, bytes] = {}
        refused: list[httpx.Response] = []
        for index in range(MAX_PUBLISHES):
            data = skill_bundle(
                "filler", body=f"# Filler {index}\n", files={"notes.md": _filler(index)}
            )
            version = f"1.0.{index}"
            answer = await publish_bundle(client, data, user.headers, version=version)
            if answer.status_code == 201:
                stored[version] = data
                continue
            refused.append(answer)
            if len(refused) >= 3:  # full, and it stays full
                break
        return stored, refused


def test_publishes_onto_a_full_disk_answer_507_and_damage_nothing(embedded: Embedded) -> None:
    stored, refused = asyncio.run(_fill(embedded))
    used = os.statvfs(embedded.database.parent)
    print(
        f"\npublished {len(stored)} versions before the disk was full; then "
        f"{[r.status_code for r in refused]}; free {used.f_bavail * used.f_frsize} bytes"
    )
    assert stored, "nothing could be published at all"
    assert refused, f"the disk never filled after {MAX_PUBLISHES} publishes"
    for answer in refused:
        assert answer.status_code == 507, (
            f"{answer.status_code}: {answer.text}\n{embedded.process.log()[-3000:]}"
        )
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["status"] == 507
        assert "storage is full" in problem["detail"]

    # Still serving, and nothing already stored is damaged.
    with httpx.Client(base_url=embedded.url, timeout=30) as client:
        assert client.get("/health").status_code == 200
        for version, data in stored.items():
            answer = client.get(f"/api/v1/skills/disk-owner/filler/versions/{version}/download")
            assert answer.status_code == 200, f"{version}: {answer.status_code} {answer.text}"
            assert answer.content == data, f"{version} changed"
    with sqlite3.connect(f"file:{embedded.database}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
