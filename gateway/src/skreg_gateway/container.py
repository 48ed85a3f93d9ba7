"""The image's entry point and health check: `SERVICE` picks what this container runs.

`python -m skreg_gateway.container` execs the chosen service;
`python -m skreg_gateway.container health` is the image's HEALTHCHECK.
`SERVICE=backup` backs up on a schedule; given arguments, it runs that backup command
instead (`docker compose run --rm backup restore /backups/skreg-….tar`).
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

from skreg_common.backup.operations import newest_archive_age
from skreg_common.backup.settings import BackupSettings
from skreg_common.settings import SettingsError, load_settings

COMMANDS: dict[str, list[str]] = {
    "gateway": [sys.executable, "-m", "skreg_gateway"],
    "catalog": [sys.executable, "-m", "skreg_catalog"],
    "auth": [sys.executable, "-m", "skreg_auth"],
    "importer": [sys.executable, "-m", "skreg_importer"],
    "worker": [sys.executable, "-m", "skreg_importer.worker"],
    "migrate": [sys.executable, "-m", "skreg_common.migrate", "upgrade"],
    "backup": [sys.executable, "-m", "skreg_common.backup", "schedule"],
}
BACKUP_COMMAND = [sys.executable, "-m", "skreg_common.backup"]
# The backup container is healthy while its newest archive is at most two intervals old
# (one missed round is tolerated) plus this much for the dump itself.
BACKUP_GRACE_S = 600
HEALTH_TIMEOUT_S = 3
# Compose's Redis, for a worker container whose REDIS_URL is unset.
DEFAULT_REDIS_URL = "redis://redis:6379/0"


class ContainerSettings(BackupSettings, frozen=True, kw_only=True):
    """`SERVICE`: what this container runs (one of COMMANDS); the rest as every service (and
    the backup command) reads it."""

    service: str = "gateway"


def _settings() -> ContainerSettings:
    try:
        settings = load_settings(ContainerSettings)
    except SettingsError as exc:  # the service itself would refuse the same way
        sys.stderr.write(f"skreg: {exc}\n")
        raise SystemExit(2) from exc
    if settings.service not in COMMANDS:
        choices = ", ".join(COMMANDS)
        sys.stderr.write(f"SERVICE must be one of {choices}; got {settings.service!r}\n")
        raise SystemExit(2)
    return settings


def run(args: list[str]) -> None:
    """Replace this process with the selected service (signals reach it directly)."""
    service = _settings().service
    if args and service != "backup":
        sys.stderr.write(f"SERVICE={service} takes no arguments (only SERVICE=backup does)\n")
        raise SystemExit(2)
    argv = [*BACKUP_COMMAND, *args] if args else COMMANDS[service]
    os.execv(argv[0], argv)  # noqa: S606 - the table above, or the backup command's own CLI


def health() -> int:
    """0 when the service answers `/health` (the worker: when Redis answers), 1 otherwise."""
    try:
        settings = _settings()
    except SystemExit:
        return 1
    if settings.service == "migrate":
        return 0
    if settings.service == "backup":
        age = newest_archive_age(Path(settings.backup_dir), time.time())
        return 0 if age is not None and age <= 2 * settings.backup_interval + BACKUP_GRACE_S else 1
    if settings.service == "worker":
        return _redis_alive(settings.redis_url or DEFAULT_REDIS_URL)
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{settings.port}/health", timeout=HEALTH_TIMEOUT_S
        ) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


def _redis_alive(url: str) -> int:
    import asyncio

    from redis.asyncio import Redis

    async def ping() -> bool:
        client = Redis.from_url(url)
        try:
            return bool(await asyncio.wait_for(client.ping(), HEALTH_TIMEOUT_S))
        finally:
            await client.aclose()

    try:
        return 0 if asyncio.run(ping()) else 1
    except Exception:  # unreachable or timed out: unhealthy, not a crash
        return 1


if __name__ == "__main__":
    if sys.argv[1:] == ["health"]:
        raise SystemExit(health())
    run(sys.argv[1:])
