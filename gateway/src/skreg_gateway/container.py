"""The image's entry point and health check: `SERVICE` picks what this container runs.

`python -m skreg_gateway.container run` execs the chosen service;
`python -m skreg_gateway.container health` is the image's HEALTHCHECK.
"""

from __future__ import annotations

import os
import sys
import urllib.request

COMMANDS: dict[str, list[str]] = {
    "gateway": [sys.executable, "-m", "skreg_gateway"],
    "catalog": [sys.executable, "-m", "skreg_catalog"],
    "auth": [sys.executable, "-m", "skreg_auth"],
    "importer": [sys.executable, "-m", "skreg_importer"],
    "worker": [sys.executable, "-m", "skreg_importer.worker"],
    "migrate": [sys.executable, "-m", "skreg_gateway.migrate", "upgrade"],
}
HEALTH_TIMEOUT_S = 3


def _service() -> str:
    service = os.environ.get("SERVICE", "gateway")
    if service not in COMMANDS:
        sys.stderr.write(f"SERVICE must be one of {', '.join(COMMANDS)}; got {service!r}\n")
        raise SystemExit(2)
    return service


def run() -> None:
    """Replace this process with the selected service (signals reach it directly)."""
    argv = COMMANDS[_service()]
    os.execv(argv[0], argv)  # noqa: S606 - fixed argv from the table above


def health() -> int:
    """0 when the service answers `/health` (the worker: when Redis answers), 1 otherwise."""
    service = _service()
    if service == "migrate":
        return 0
    if service == "worker":
        return _redis_alive()
    port = os.environ.get("PORT", "8000")
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/health", timeout=HEALTH_TIMEOUT_S
        ) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


def _redis_alive() -> int:
    import asyncio

    from redis.asyncio import Redis

    async def ping() -> bool:
        client = Redis.from_url(os.environ.get("REDIS_URL", "redis://redis:6379/0"))
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
