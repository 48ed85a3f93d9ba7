"""The image's entry point and health check: `SERVICE` picks what this container runs.

`python -m skreg_gateway.container run` execs the chosen service;
`python -m skreg_gateway.container health` is the image's HEALTHCHECK.
"""

from __future__ import annotations

import os
import sys
import urllib.request

from skreg_common.settings import ServiceSettings, SettingsError, load_settings

COMMANDS: dict[str, list[str]] = {
    "gateway": [sys.executable, "-m", "skreg_gateway"],
    "catalog": [sys.executable, "-m", "skreg_catalog"],
    "auth": [sys.executable, "-m", "skreg_auth"],
    "importer": [sys.executable, "-m", "skreg_importer"],
    "worker": [sys.executable, "-m", "skreg_importer.worker"],
    "migrate": [sys.executable, "-m", "skreg_common.migrate", "upgrade"],
}
HEALTH_TIMEOUT_S = 3
# Compose's Redis, for a worker container whose REDIS_URL is unset.
DEFAULT_REDIS_URL = "redis://redis:6379/0"


class ContainerSettings(ServiceSettings, frozen=True, kw_only=True):
    """`SERVICE`: what this container runs (one of COMMANDS); the rest as every service reads it."""

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


def run() -> None:
    """Replace this process with the selected service (signals reach it directly)."""
    argv = COMMANDS[_settings().service]
    os.execv(argv[0], argv)  # noqa: S606 - fixed argv from the table above


def health() -> int:
    """0 when the service answers `/health` (the worker: when Redis answers), 1 otherwise."""
    try:
        settings = _settings()
    except SystemExit:
        return 1
    if settings.service == "migrate":
        return 0
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
    run()
