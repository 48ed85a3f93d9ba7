"""Request metrics for `/metrics`: Litestar's Prometheus metrics, recorded more cheaply.

`litestar.plugins.prometheus.PrometheusMiddleware` costs ~40 µs of CPU per request
here (py-spy of `/health` in-process: ~118 µs in all): it builds a `Request` and parses
its URL even when it labels by route template, rebuilds the label dict and the
metric names, wraps `send` with `functools.wraps`, and looks each child metric up
through `labels()` (argument checks, `str()` of every value, a lock) four times.

`RequestMetrics` keeps the same metrics (names, labels, help, buckets: it creates them
through the parent's own methods, so `/metrics` reads exactly what Litestar's would
have written) and differs only in how it finds them: the labelled children are looked
up once per (method, route template, status) and kept. The label values come from
the route table (templates, not paths) and the HTTP methods the server parses, so the
key set is as bounded as the series Prometheus itself keeps; past `MAX_KEYS` it stops
remembering new keys and goes through `labels()` as the parent does.

Only the configuration `skreg_common.app` uses is supported (`group_path`, no extra
labels, exemplars or excluded methods); `RequestMetrics` refuses any other.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

MAX_KEYS = 4096
"""Label sets remembered per middleware (each is a few small objects)."""


class RequestMetrics(PrometheusMiddleware):
    """Litestar's Prometheus middleware with its labelled metrics looked up once."""

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        if not config.group_path or config.labels or config.exemplars:
            raise ValueError("RequestMetrics supports group_path=True without extra labels")
        if config.excluded_http_methods:
            raise ValueError("RequestMetrics does not support excluded_http_methods")
        super().__init__(app, config)
        self._in_progress: dict[tuple[str, str], Gauge] = {}
        self._finished: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def _labels(self, method: str, path: str, status: int) -> dict[str, str | int | float]:
        # The parent's label order: its metrics were (or will be) created with these names.
        return {
            "method": method,
            "path": path,
            "status_code": status,
            "app_name": self._config.app_name,
        }

    def _progress_gauge(self, method: str, path: str) -> Gauge:
        key = (method, path)
        gauge = self._in_progress.get(key)
        if gauge is None:
            labels = self._labels(method, path, 200)  # the parent counts in-progress as 200
            gauge = self.requests_in_progress(labels).labels(*labels.values())
            if len(self._in_progress) < MAX_KEYS:
                self._in_progress[key] = gauge
        return gauge

    def _outcome(self, method: str, path: str, status: int) -> tuple[Counter, Histogram]:
        key = (method, path, status)
        found = self._finished.get(key)
        if found is None:
            labels = self._labels(method, path, status)
            values = [*labels.values()]
            found = (
                self.request_count(labels).labels(*values),
                self.request_time(labels).labels(*values),
            )
            if len(self._finished) < MAX_KEYS:
                self._finished[key] = found
        return found

    def _count_error(self, method: str, path: str, status: int) -> None:
        # Rare, and its series appears only once an error happens (as with the parent).
        labels = self._labels(method, path, status)
        self.requests_error_count(labels).labels(*labels.values()).inc()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method") or scope["type"])  # as the parent labels a websocket
        path = scope["path_template"]
        started = time.perf_counter()
        status, duration = 200, 0.0

        async def timed_send(message: Message) -> None:
            nonlocal status, duration
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                duration = time.perf_counter() - started
            await send(message)

        progress = self._progress_gauge(method, path)
        progress.inc()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            progress.dec()
            count, timing = self._outcome(method, path, status)
            if status >= HTTP_500_INTERNAL_SERVER_ERROR:
                self._count_error(method, path, status)
            count.inc()
            timing.observe(duration)


def request_metrics(app_name: str, *, exclude: list[str]) -> Any:
    """The app middleware recording request metrics (see `RequestMetrics`)."""
    config = PrometheusConfig(
        app_name=app_name, group_path=True, exclude=exclude, middleware_class=RequestMetrics
    )
    return config.middleware
