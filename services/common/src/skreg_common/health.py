"""`/health` (alive), `/ready` (database up; Redis reported) and `/metrics` for any service."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ControllerRouterHandler
from sqlalchemy import text

from skreg_common.errors import PROBLEM_JSON
from skreg_common.runtime import Runtime

READY_TIMEOUT_S = 2.0


class HealthStatus(msgspec.Struct):
    """Body of `/health` and `/ready`."""

    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


@get("/health", opt={"skip_principal": True}, include_in_schema=True, sync_to_thread=False)
def health() -> HealthStatus:
    """Alive: answers without touching anything."""
    return HealthStatus(status="ok")


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT_S)
    except Exception as exc:  # any failure means not ready; the reason goes in the body
        return name, f"failed: {type(exc).__name__}"
    return name, "ok"


async def _ping_database(runtime: Runtime) -> None:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@get("/ready")
async def ready(request: Request[Any, Any, Any]) -> Response[HealthStatus]:
    """Ready: the database answers within a short timeout; Redis is checked and reported.

    Redis down is "degraded", still 200: every replica shares the same Redis, so taking
    them all out of Traefik would turn a partial outage (throttles count per process,
    imports wait in the database) into a total one. The database down is 503.
    """
    runtime: Runtime = request.app.state.runtime
    probes = [_check("database", _ping_database(runtime))]
    if runtime.redis is not None:
        probes.append(_check("redis", runtime.redis.ping()))
    checks = dict(await asyncio.gather(*probes))
    ok = checks["database"] == "ok"
    status = (
        "unavailable" if not ok else "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    )
    body = HealthStatus(status=status, checks=checks)
    # The struct itself (not its bytes), so the OpenAPI document describes the body sent.
    return Response(
        content=body,
        status_code=200 if ok else 503,
        media_type="application/json" if ok else PROBLEM_JSON,
    )


class MetricsController(PrometheusController):
    """Prometheus text exposition at `/metrics`."""

    path = "/metrics"
    openmetrics_format = False
    # Prometheus text for scrapers, not an API operation; the schema would call it JSON.
    include_in_schema = False


HEALTH_HANDLERS: list[ControllerRouterHandler] = [health, ready, MetricsController]
