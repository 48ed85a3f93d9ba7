"""Run a service process: settings once from the environment, logging, then uvicorn.

Every `python -m skreg_<service>` goes through `serve`, so host/port, logging, the
slow-client limits (skreg_common.connguard), the dev-secret listening rule
(skreg_common.internal) and the dev profile's auto-reload (`RELOAD=true`) behave the
same everywhere. `WEB_CONCURRENCY` above 1 runs that many server processes on one
socket under uvicorn's supervisor, which restarts a worker that dies; each worker
builds its own app (pool, caches, connection guard: limits are per process).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import uvicorn
from uvicorn.supervisors import ChangeReload, Multiprocess

from skreg_common.connguard import (
    ConnectionLimits,
    GuardedConfig,
    StackUnavailable,
    fit_file_limit,
    pick_event_loop,
    pick_http_impl,
)
from skreg_common.db import is_sqlite
from skreg_common.internal import listen_problem
from skreg_common.logging import configure_logging
from skreg_common.settings import ServiceSettings, SettingsError, load_settings

S = TypeVar("S", bound=ServiceSettings)


def load_or_exit(cls: type[S]) -> S:
    """Load settings or exit with a one-line reason (status 2), never a traceback."""
    try:
        return load_settings(cls)
    except SettingsError as exc:
        sys.stderr.write(f"skreg: {exc}\n")
        raise SystemExit(2) from exc


def _limits(settings: ServiceSettings) -> ConnectionLimits:
    return ConnectionLimits(
        max_connections=fit_file_limit(settings.max_connections),
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
    )


def serve(name: str, settings: ServiceSettings, app_factory: str | Callable[[], Any]) -> None:
    """Serve the app built by `app_factory` (an import string "module:function" for reload)."""
    problem = listen_problem(settings)
    if problem is not None:
        sys.stderr.write(f"skreg: {problem}\n")
        raise SystemExit(2)
    problem = concurrency_problem(settings)
    if problem is not None:
        sys.stderr.write(f"skreg: {problem}\n")
        raise SystemExit(2)
    configure_logging(settings.log_level, settings.log_json)
    reload = settings.is_dev and settings.reload
    workers = 1 if reload else settings.web_concurrency
    limits = _limits(settings)
    try:
        http, loop = pick_http_impl(settings.http_impl), pick_event_loop(settings.event_loop)
    except StackUnavailable as exc:
        sys.stderr.write(f"skreg: {exc}\n")
        raise SystemExit(2) from exc
    structlog.get_logger(name).info(
        "service.starting",
        service=name,
        url=f"http://{settings.host}:{settings.port}",
        queue="redis" if settings.redis_url else "in-process",
        reload=reload,
        workers=workers,
        max_connections=limits.max_connections,
        http=http,
        loop=loop,
    )
    config = ServiceConfig(
        app_factory,
        logging_setup=(settings.log_level, settings.log_json),
        limits=limits,
        http_impl=settings.http_impl,
        event_loop=settings.event_loop,
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=reload and isinstance(app_factory, str),
        workers=workers,
        log_config=None,
        access_log=False,
        # Forwarded headers are resolved by the app itself, from TRUSTED_PROXIES
        # (skreg_common.forwarded), the same way in every service and in tests.
        proxy_headers=False,
        timeout_graceful_shutdown=20,
    )
    _run(config)


class ServiceConfig(GuardedConfig):
    """The guarded config, which also sets up logging in the process that loads the app:
    worker processes are spawned, so they start without the parent's logging set-up."""

    def __init__(self, app: Any, *, logging_setup: tuple[str, bool | None], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.logging_setup = logging_setup

    def load(self) -> None:
        configure_logging(*self.logging_setup)
        super().load()


def concurrency_problem(settings: ServiceSettings) -> str | None:
    """Why `WEB_CONCURRENCY` cannot be honoured here (None: it can)."""
    if settings.web_concurrency < 1:
        return f"WEB_CONCURRENCY must be 1 or more, not {settings.web_concurrency}"
    if settings.web_concurrency == 1:
        return None
    if is_sqlite(settings.database_url) or not settings.redis_url:
        return (
            "WEB_CONCURRENCY above 1 needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): "
            "worker processes share caches, throttles and the queue only through them"
        )
    return None


def _run(config: uvicorn.Config) -> None:
    """What `uvicorn.run` does with a ready Config: serve, supervise reloads or workers."""
    server = uvicorn.Server(config=config)
    try:
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            config.load_app()
            server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and not config.should_reload and config.workers == 1:
        raise SystemExit(3)
