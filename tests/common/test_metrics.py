"""`RequestMetrics` records exactly what Litestar's Prometheus middleware records."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar, MediaType, get
from litestar.exceptions import NotFoundException
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from skreg_common import metrics
from skreg_common.metrics import RequestMetrics

APP_NAME = "metrics-parity"


@get("/items/{item:int}", media_type=MediaType.TEXT)
async def item(item: int) -> str:
    if item == 0:
        raise NotFoundException("no item 0")
    if item < 0:
        raise RuntimeError("broken")
    await asyncio.sleep(0)
    return "x" * item


def _app(middleware: type[PrometheusMiddleware]) -> Litestar:
    config = PrometheusConfig(
        app_name=APP_NAME, group_path=True, exclude=["/metrics"], middleware_class=middleware
    )
    return Litestar(route_handlers=[item], middleware=[config.middleware])


def _samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the test app's series (bucket bounds included), by name and labels."""
    found = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.labels.get("app_name") != APP_NAME or sample.name.endswith("_created"):
                continue
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def _traffic(app: Litestar) -> None:
    async with AsyncTestClient(app) as client:
        for path in ("/items/3", "/items/3", "/items/0", "/items/-1", "/items/nope"):
            await client.get(path)
        await client.post("/items/4")  # no such method on the route
        await client.request("PATCH", "/items/5")


def _deltas(before: dict[Any, float], after: dict[Any, float]) -> dict[Any, float]:
    return {
        key: value - before.get(key, 0.0)
        for key, value in after.items()
        # Durations differ between runs, and so the buckets they fall in; their count does not.
        if not key[0].endswith(("_sum", "_bucket"))
    }


@pytest.mark.parametrize("cap", [metrics.MAX_KEYS, 1], ids=["remembered", "past-the-cap"])
async def test_the_same_series_and_counts_as_litestars_middleware(
    cap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the cap, label sets are looked up through `labels()` each time, as Litestar does.
    monkeypatch.setattr(metrics, "MAX_KEYS", cap)
    start = _samples()
    await _traffic(_app(PrometheusMiddleware))
    litestar = _samples()
    await _traffic(_app(RequestMetrics))
    ours = _samples()
    theirs, mine = _deltas(start, litestar), _deltas(litestar, ours)
    assert mine == theirs
    counts = {
        dict(k[1])["status_code"]: v for k, v in mine.items() if k[0].endswith("_requests_total")
    }
    # Routing errors (a path the route rejects, a method it lacks) never reach app middleware.
    assert counts == {"200": 2, "404": 1, "500": 1}
    errors = [k for k, v in mine.items() if k[0].endswith("requests_error_total") and v]
    assert [dict(k[1])["status_code"] for k in errors] == ["500"]
    in_progress = [v for k, v in ours.items() if k[0].endswith("requests_in_progress")]
    assert in_progress
    assert all(value == 0 for value in in_progress)


def test_other_configurations_are_refused() -> None:
    for config in (
        PrometheusConfig(group_path=False),
        PrometheusConfig(group_path=True, labels={"team": "a"}),
        PrometheusConfig(group_path=True, excluded_http_methods=["POST"]),
    ):
        with pytest.raises(ValueError):
            RequestMetrics(item, config)  # type: ignore[arg-type]
